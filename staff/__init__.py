"""Staff accounts and logins, and what the console's API and the insight pages share about
them: who is calling and with which role (``staff.auth``), the sessions, the login locks and
the consoles' event channel. Below both handoff/ and insight/, so neither imports the other."""
