"""The generation engine, free of any chat platform: the music data model (music, tokens), what users may
ask (request, the style and mood labels in labels, prompt reading), the musical plan every stage reads
(plan), the models and their training (model, train, finetune, checkpoint), generation (generate), the
arranger (arrange), rendering to MIDI, MP3 and pictures (render), evaluation against real music
(evaluation), the training corpus (data) and the service that runs it all in worker processes (service).
The seams between them are torch-free: `composition` (what the model wrote), `protocols` (the Composer and
the Engine the bot uses) and `errors` (every error a user sees carries its message).
"""
