"""The conversation core's steps, in the order a user message meets them.

``ConversationCore.handle`` (bot/conversation.py) runs them, one turn at a time per conversation:

1. checks.py: the safety check (before anything else; a signal goes to crisis.py) and the rate
   limits, which also read the conversation's state;
2. routing.py: by that state, the service's own buttons and questions, or the text to staff
   (waiting, with staff, leaving a message); otherwise assistant.py asks Rasa;
3. after.py: what Rasa's answer sets off (registration, unclear questions, the crisis intent,
   "Heb je hier genoeg aan?", a handoff request, which handoffs.py starts).

utterance.py holds the message on its way through them.
"""
