"""Code that runs in the Rasa environment (Python 3.10): custom actions and Rasa input channels.

Nothing here is imported by the messaging service; the two talk over HTTP on loopback.
"""
