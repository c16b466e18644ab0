"""The engine's ports: what it needs from the world, as small typing.Protocol interfaces, one module per
concern. Adapters (adapters/) implement them; the composition root (taina/app.py) picks which ones.

- speech: SpeechToText (and its per-utterance stream), TextToSpeech
- turn_model: an end-of-turn model (is the utterance so far a finished turn?)
- language: LanguageModel, the Prompt it sees and the events it streams
- transport: a call's audio in and out, and its page events
- records: the conversation journal and call recordings
- storage: the object store
- knowledge: the embedder and the knowledge base
- appointments: the booking domain and the appointments port
"""
