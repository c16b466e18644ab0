"""The clinic the assistant works for, in one place: who it is, its clock and its sample centre.

identity.py   the assistant's name and its organisation, from settings
clock.py      the clinic's time zone and clock (TAINA_NOW fixes it)
prompt.py     the built-in system prompt, filled in with the identity
sample.py     the sample centre's sites, services, doctors and hours (taina/sample_kb/medicos.html)
keyterms.py   the sample centre's names a speech recognizer should expect

The app reads them and passes them down: adapters and the engine get the clock as a callable and the data as
arguments, and never import this package.
"""
