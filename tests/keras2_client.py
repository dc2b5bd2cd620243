"""A second, real Keras client: tf-keras (Keras 2), run as a script in its own process.

    python tests/keras2_client.py load CHECKPOINT INPUTS.npy OUT.npy LAYERS UNITS OUTPUTS SEQ
        builds the tutorial's Sequential topology in Keras 2, model.load_weights(CHECKPOINT)
        and saves its predictions for INPUTS.npy to OUT.npy.
    python tests/keras2_client.py tutorial TEXT OUT.hdf5 SEQ
        trains the tutorial's own script (Keras 2 API, to_categorical targets, a whole-model
        ModelCheckpoint .hdf5) for one epoch on TEXT: a legacy checkpoint.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import tf_keras as keras  # noqa: E402


def tutorial_model(layers, units, outputs, seq_length):
    model = keras.Sequential()
    for number in range(layers):
        kwargs = {"input_shape": (seq_length, 1)} if number == 0 else {}
        model.add(keras.layers.LSTM(units, return_sequences=number < layers - 1, **kwargs))
        model.add(keras.layers.Dropout(0.2))
    model.add(keras.layers.Dense(outputs, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam")
    return model


def load(checkpoint, inputs_path, out_path, layers, units, outputs, seq_length):
    model = tutorial_model(int(layers), int(units), int(outputs), int(seq_length))
    model.load_weights(checkpoint)
    np.save(out_path, model.predict(np.load(inputs_path), verbose=0))


def tutorial(text_path, out_path, seq_length):
    # The tutorial's data preparation, as it wrote it (less Python 2).
    raw_text = open(text_path, encoding="utf-8-sig").read().replace("\r\n", "\n").lower()
    chars = sorted(list(set(raw_text)))
    char_to_int = dict((c, i) for i, c in enumerate(chars))
    seq_length = int(seq_length)
    dataX, dataY = [], []
    for i in range(0, len(raw_text) - seq_length, 1):
        dataX.append([char_to_int[char] for char in raw_text[i : i + seq_length]])
        dataY.append(char_to_int[raw_text[i + seq_length]])
    X = np.reshape(dataX, (len(dataX), seq_length, 1)) / float(len(chars))
    y = keras.utils.to_categorical(dataY)
    model = tutorial_model(1, 16, y.shape[1], seq_length)
    checkpoint = keras.callbacks.ModelCheckpoint(
        out_path, monitor="loss", verbose=0, save_best_only=True, mode="min"
    )
    model.fit(X, y, epochs=1, batch_size=32, callbacks=[checkpoint], verbose=0)
    print(y.shape[1], len(chars))


if __name__ == "__main__":
    {"load": load, "tutorial": tutorial}[sys.argv[1]](*sys.argv[2:])
