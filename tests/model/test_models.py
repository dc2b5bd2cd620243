from charlstm.model.models import Topology, build_model


def test_small_topology_matches_the_tutorial():
    model = build_model(Topology(vocab_size=43, output_size=43), seq_length=100)
    summary = [(type(layer).__name__, tuple(layer.output.shape)) for layer in model.layers]
    assert summary == [("LSTM", (None, 256)), ("Dropout", (None, 256)), ("Dense", (None, 43))]
    assert model.input_shape == (None, 100, 1)
    assert model.layers[1].rate == 0.2
    assert model.count_params() == 4 * (256 * (1 + 256) + 256) + 257 * 43


def test_bigger_topology_matches_the_tutorial():
    model = build_model(Topology(vocab_size=43, output_size=43, layers=2), seq_length=100)
    summary = [(type(layer).__name__, tuple(layer.output.shape)) for layer in model.layers]
    assert summary == [
        ("LSTM", (None, 100, 256)), ("Dropout", (None, 100, 256)),
        ("LSTM", (None, 256)), ("Dropout", (None, 256)), ("Dense", (None, 43)),
    ]
    assert model.layers[0].return_sequences and not model.layers[2].return_sequences


def test_lstm_keeps_cudnn_eligible_settings():
    lstm = build_model(Topology(vocab_size=5, output_size=5), seq_length=10).layers[0]
    assert lstm.activation.__name__ == "tanh"
    assert lstm.recurrent_activation.__name__ == "sigmoid"
    assert lstm.recurrent_dropout == 0 and not lstm.unroll and lstm.use_bias
