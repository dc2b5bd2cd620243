"""Exporting a checkpoint for use outside charlstm: Keras models and SavedModels (formats), and
a static web folder that writes text in any browser (web).

  formats  export(): keras, onestep, savedmodel, and the web folder through web
  web      write_web_folder(): the page, decoder.js and the weights as model.js

    >>> from charlstm.exporting.formats import sidecar_path
    >>> sidecar_path("alice.keras")
    'alice.keras.json'
"""
