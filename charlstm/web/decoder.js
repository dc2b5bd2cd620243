// The in-browser decoder of export.py --format web: charlstm.decoders.StatefulDecoder and
// charlstm.sampling.make_chooser in plain JavaScript, with no DOM (browser_engine.js is the
// page's side). It computes in float64, as the Python decoder does, from the checkpoint's
// float32 weights exactly widened: then its next-character probabilities equal Python's to
// about 1e-12 and greedy text is the same, character for character.
//
//   const network = charlstmDecoding.readModel(window.charlstmModel);  // checks the arrays
//   const decoder = new charlstmDecoding.StatefulDecoder(network);
//   let probabilities = decoder.start([3, 1, 4]);   // read a prime's indices
//   probabilities = decoder.advance(charlstmDecoding.greedy(probabilities));
//
// Speed: each step is a few matrix-vector products, so the inner loop is written for V8:
// flat Float64Arrays, the weights of 8 outputs interleaved so that one pass over the input
// feeds 8 independent sums, and a one-hot or embedding input is a row added, not a product.
"use strict";

(function (root) {
  // --- the weights file: base64 float32 arrays, each with its shape and CRC-32 ----------------

  const CRC_TABLE = (() => {
    const table = new Int32Array(256);
    for (let byte = 0; byte < 256; byte++) {
      let value = byte;
      for (let bit = 0; bit < 8; bit++) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
      table[byte] = value;
    }
    return table;
  })();

  // zlib.crc32 of the bytes, which the export records for each array.
  function crc32(bytes) {
    let crc = -1;
    for (let index = 0; index < bytes.length; index++) {
      crc = CRC_TABLE[(crc ^ bytes[index]) & 0xff] ^ (crc >>> 8);
    }
    return (crc ^ -1) >>> 0;
  }

  function decodeBase64(text, name) {
    let binary;
    try {
      binary = atob(text);
    } catch (error) {
      throw new Error(`array ${name} is not base64`);
    }
    const bytes = new Uint8Array(binary.length);
    for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
    return bytes;
  }

  // One array of the weights file as float64 (float32 values, exactly widened), after
  // checking its size and CRC-32: a file cut short or edited fails here, not in the text.
  function readArray(entry) {
    const name = entry && entry.name;
    const shape = entry && entry.shape;
    if (typeof entry.base64 !== "string" || !Array.isArray(shape)) {
      throw new Error(`array ${name} has no data or shape`);
    }
    const bytes = decodeBase64(entry.base64, name);
    const count = shape.reduce((product, size) => product * size, 1);
    if (bytes.length !== 4 * count) {
      throw new Error(`array ${name} holds ${bytes.length} bytes, not the ${4 * count} of ` +
        `its shape ${JSON.stringify(shape)}`);
    }
    if (crc32(bytes) !== entry.crc32) throw new Error(`array ${name} fails its CRC-32 check`);
    const values = new Float32Array(bytes.buffer); // little-endian, as every browser today
    return { shape, values: Float64Array.from(values) };
  }

  // --- the network, laid out for the inner loop ------------------------------------------------

  const BLOCK = 8; // outputs a pass of the inner loop computes at once

  // A (rows, columns) row-major matrix as blocks of BLOCK columns: for block b and row i, its
  // BLOCK weights lie side by side. Columns past the end (to a multiple of BLOCK) are zero.
  function interleave(matrix, rows, columns) {
    const blocks = Math.ceil(columns / BLOCK);
    const packed = new Float64Array(blocks * rows * BLOCK);
    let position = 0;
    for (let block = 0; block < blocks; block++) {
      for (let row = 0; row < rows; row++) {
        for (let offset = 0; offset < BLOCK; offset++, position++) {
          const column = block * BLOCK + offset;
          if (column < columns) packed[position] = matrix[row * columns + column];
        }
      }
    }
    return { packed, rows, columns, blocks };
  }

  // Two matrices of the same width stacked: [top; bottom].
  function stack(top, topRows, bottom, bottomRows, columns) {
    const stacked = new Float64Array((topRows + bottomRows) * columns);
    stacked.set(top.subarray(0, topRows * columns), 0);
    stacked.set(bottom.subarray(0, bottomRows * columns), topRows * columns);
    return stacked;
  }

  // out[column] += sum over rows of vector[row] * matrix[row][column]: the one hot loop.
  function multiplyAdd(matrix, vector, out) {
    const { packed, rows, blocks } = matrix;
    let position = 0;
    for (let block = 0; block < blocks; block++) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
      for (let row = 0; row < rows; row++, position += BLOCK) {
        const value = vector[row];
        s0 += value * packed[position];
        s1 += value * packed[position + 1];
        s2 += value * packed[position + 2];
        s3 += value * packed[position + 3];
        s4 += value * packed[position + 4];
        s5 += value * packed[position + 5];
        s6 += value * packed[position + 6];
        s7 += value * packed[position + 7];
      }
      const first = block * BLOCK;
      out[first] += s0; out[first + 1] += s1; out[first + 2] += s2; out[first + 3] += s3;
      out[first + 4] += s4; out[first + 5] += s5; out[first + 6] += s6; out[first + 7] += s7;
    }
  }

  const GATES = { lstm: 4, gru: 3 };

  function checkModel(model) {
    if (!model || model.format !== "charlstm-web") {
      throw new Error("it is not a charlstm web export's weights file");
    }
    if (model.version !== 1) {
      throw new Error(`it is version ${model.version} of the format; this page reads version 1`);
    }
    if (!(model.cell in GATES)) throw new Error(`its cell '${model.cell}' is unknown`);
    const encodings = ["scaled", "one-hot", "embedding"];
    if (!encodings.includes(model.input_encoding)) {
      throw new Error(`its input encoding '${model.input_encoding}' is unknown`);
    }
  }

  // A weights file's object (window.charlstmModel) as a network the decoder steps; Error
  // with what is wrong for anything but a well-formed, undamaged file.
  function readModel(model) {
    checkModel(model);
    const arrays = {};
    for (const entry of model.arrays || []) arrays[entry.name] = readArray(entry);
    const take = (name) => {
      if (!arrays[name]) throw new Error(`array ${name} is missing`);
      return arrays[name];
    };
    const { cell, units, vocab_size: vocabSize } = model;
    const network = { cell, units, vocabSize, encoding: model.input_encoding, layers: [] };
    let inputWidth = { scaled: 1, "one-hot": vocabSize, embedding: model.embedding_size }[
      model.input_encoding];
    if (model.input_encoding === "embedding") network.embedding = take("embedding").values;
    for (let number = 1; number <= model.layers; number++) {
      const kernel = take(`layer_${number}/kernel`).values;
      const recurrent = take(`layer_${number}/recurrent_kernel`).values;
      const bias = take(`layer_${number}/bias`).values;
      const lookup = number === 1 && model.input_encoding !== "scaled";
      network.layers.push(layerOf(cell, kernel, recurrent, bias, inputWidth, units, lookup));
      inputWidth = units;
    }
    const dense = take("dense/kernel");
    network.outputSize = dense.shape[1];
    network.dense = interleave(dense.values, units, network.outputSize);
    network.denseBias = take("dense/bias").values;
    return network;
  }

  // One recurrent layer. lookup: its input is a one-hot or embedding row (the kernel's rows,
  // or the embedding times the kernel, added whole), else a vector multiplied. An LSTM's
  // input and recurrent kernels are one stacked matrix for [input; hidden]; a GRU keeps
  // them apart, because its reset gate multiplies the recurrent part of the candidate only.
  function layerOf(cell, kernel, recurrent, bias, inputWidth, units, lookup) {
    const width = GATES[cell] * units;
    const layer = { inputWidth, lookup, kernel, bias };
    if (cell === "lstm" && !lookup) {
      layer.stacked = interleave(stack(kernel, inputWidth, recurrent, units, width),
        inputWidth + units, width);
    } else {
      layer.recurrent = interleave(recurrent, units, width);
      if (!lookup) layer.input = interleave(kernel, inputWidth, width);
    }
    return layer;
  }

  // --- stepping --------------------------------------------------------------------------------

  // The tanh form of the logistic function, as charlstm.decoders._sigmoid.
  function sigmoid(value) {
    return 0.5 * (1.0 + Math.tanh(0.5 * value));
  }

  class StatefulDecoder {
    constructor(network) {
      this.network = network;
      const { units, cell } = network;
      const width = GATES[cell] * units;
      const blocks = Math.ceil(width / BLOCK) * BLOCK; // the interleaved padding's room
      this.layers = network.layers.map((layer) => ({
        ...layer,
        vector: new Float64Array(layer.inputWidth + units), // [input; hidden]
        cell: new Float64Array(units),
        gates: new Float64Array(blocks),
        recurrentGates: new Float64Array(blocks),
      }));
      this.logits = new Float64Array(Math.ceil(network.outputSize / BLOCK) * BLOCK);
      this.embeddingRows = new Map(); // index -> its embedding times layer 1's kernel
      this.reset();
    }

    reset() {
      for (const layer of this.layers) {
        layer.vector.fill(0);
        layer.cell.fill(0);
      }
    }

    // From zero state, read the indices of a prime (its last 10,000, as Python's decoder);
    // the probabilities of the character after it.
    start(indices) {
      this.reset();
      const context = indices.slice(-STATEFUL_PRIME_CONTEXT);
      for (let position = 0; position < context.length - 1; position++) this.step(context[position]);
      return this.advance(context[context.length - 1]);
    }

    // Read one more character: the probabilities of the next one (a Float64Array).
    advance(index) {
      return this.probabilities(this.step(index));
    }

    // Each layer on one character; returns the top layer's new hidden state.
    step(index) {
      const { units } = this.network;
      let below = null;
      for (let number = 0; number < this.layers.length; number++) {
        const layer = this.layers[number];
        if (number === 0 && !layer.lookup) layer.vector[0] = Math.fround(index / this.network.vocabSize);
        else if (number > 0) layer.vector.set(below, 0);
        const inputRow = layer.lookup ? this.inputRow(layer, index) : null;
        if (this.network.cell === "lstm") this.lstm(layer, inputRow, units);
        else this.gru(layer, inputRow, units);
        below = layer.vector.subarray(layer.inputWidth);
      }
      return below;
    }

    // Layer 1's input contribution for a one-hot (kernel row `index`) or an embedding input
    // (the embedding's row times the kernel, computed once per character and kept).
    inputRow(layer, index) {
      const width = layer.bias.length / (this.network.cell === "gru" ? 2 : 1);
      if (this.network.encoding === "one-hot") return layer.kernel.subarray(index * width, (index + 1) * width);
      let row = this.embeddingRows.get(index);
      if (row === undefined) {
        row = new Float64Array(width);
        const size = layer.inputWidth;
        const embedding = this.network.embedding.subarray(index * size, (index + 1) * size);
        for (let feature = 0; feature < size; feature++) {
          const value = embedding[feature];
          const kernelRow = feature * width;
          for (let column = 0; column < width; column++) row[column] += value * layer.kernel[kernelRow + column];
        }
        this.embeddingRows.set(index, row);
      }
      return row;
    }

    // Keras' LSTM cell: gates i, f, c, o from [input; hidden] (or an input row plus hidden).
    lstm(layer, inputRow, units) {
      const { gates, vector, cell, bias } = layer;
      gates.set(bias, 0);
      if (inputRow) {
        for (let column = 0; column < 4 * units; column++) gates[column] += inputRow[column];
        multiplyAdd(layer.recurrent, vector.subarray(layer.inputWidth), gates);
      } else {
        multiplyAdd(layer.stacked, vector, gates);
      }
      const hidden = layer.inputWidth;
      for (let unit = 0; unit < units; unit++) {
        const input = sigmoid(gates[unit]);
        const forget = sigmoid(gates[units + unit]);
        const candidate = Math.tanh(gates[2 * units + unit]);
        const output = sigmoid(gates[3 * units + unit]);
        cell[unit] = forget * cell[unit] + input * candidate;
        vector[hidden + unit] = output * Math.tanh(cell[unit]);
      }
    }

    // Keras 3's GRU cell (reset_after): z, r, h from the input's part (with the bias' first
    // row) and the recurrent part (with its second row), as charlstm.decoders.gru_step.
    gru(layer, inputRow, units) {
      const { gates, recurrentGates: recurrent, vector, bias } = layer;
      const width = 3 * units;
      gates.set(bias.subarray(0, width), 0);
      if (inputRow) for (let column = 0; column < width; column++) gates[column] += inputRow[column];
      else multiplyAdd(layer.input, vector, gates);
      recurrent.set(bias.subarray(width, 2 * width), 0);
      const hidden = layer.inputWidth;
      multiplyAdd(layer.recurrent, vector.subarray(hidden), recurrent);
      for (let unit = 0; unit < units; unit++) {
        const update = sigmoid(gates[unit] + recurrent[unit]);
        const reset = sigmoid(gates[units + unit] + recurrent[units + unit]);
        const candidate = Math.tanh(gates[2 * units + unit] + reset * recurrent[2 * units + unit]);
        vector[hidden + unit] = update * vector[hidden + unit] + (1.0 - update) * candidate;
      }
    }

    // The Dense layer and its softmax, as StatefulDecoder.advance: logits less their
    // maximum, exponentials, over their sum.
    probabilities(top) {
      const size = this.network.outputSize;
      const logits = this.logits;
      logits.set(this.network.denseBias, 0);
      multiplyAdd(this.network.dense, top, logits);
      let largest = -Infinity;
      for (let index = 0; index < size; index++) if (logits[index] > largest) largest = logits[index];
      const exponentials = new Float64Array(size);
      let total = 0;
      for (let index = 0; index < size; index++) {
        exponentials[index] = Math.exp(logits[index] - largest);
        total += exponentials[index];
      }
      for (let index = 0; index < size; index++) exponentials[index] /= total;
      return exponentials;
    }
  }

  // As charlstm.decoders.STATEFUL_PRIME_CONTEXT: how much of a prime stateful decoding reads.
  const STATEFUL_PRIME_CONTEXT = 10000;

  // --- choosing the next character (charlstm.sampling.make_chooser, for one row) --------------

  // The most likely character (the first one on a tie), as numpy.argmax.
  function greedy(probabilities) {
    let best = 0;
    for (let index = 1; index < probabilities.length; index++) {
      if (probabilities[index] > probabilities[best]) best = index;
    }
    return best;
  }

  // Indices by falling value; a tie keeps the lower index first (a stable sort).
  function ranked(values) {
    const order = Array.from(values, (_, index) => index);
    return order.sort((first, second) => values[second] - values[first] || first - second);
  }

  // Keep the most likely characters until their share of the weight reaches topP (at least
  // the most likely one), as sampling._nucleus.
  function nucleus(weights, allowed, topP) {
    let total = 0;
    for (const weight of weights) total += weight;
    const shares = weights.map((weight) => weight / total);
    let before = 0;
    for (const index of ranked(shares)) {
      if (!(before < topP)) {
        weights[index] = 0;
        allowed[index] = false;
      }
      before += shares[index];
    }
  }

  // A function from probabilities to a chosen index: greedy at temperature 0, else a draw
  // (random(): a number in [0, 1)) from softmax(log p / temperature) among the topK most
  // likely characters, then the fewest most likely that hold topP of the weight.
  function makeChooser({ temperature = 0, topK = null, topP = null, random }) {
    if (temperature === 0) return greedy;
    if (topP !== null && topP >= 1) topP = null;
    return (probabilities) => {
      const size = probabilities.length;
      const allowed = Array.from(probabilities, (value) => value > 0);
      if (topK !== null && topK < size) {
        const top = new Set(ranked(probabilities).slice(0, topK));
        for (let index = 0; index < size; index++) if (!top.has(index)) allowed[index] = false;
      }
      const logits = Array.from(probabilities, (value, index) =>
        allowed[index] ? Math.log(value) / temperature : -Infinity);
      let largest = -Infinity;
      for (const logit of logits) if (logit > largest) largest = logit;
      const draw = random(); // drawn every step, as Python draws for every row
      if (!Number.isFinite(largest)) return greedy(probabilities); // log p / T overflowed
      const weights = logits.map((logit) => Math.exp(logit - largest));
      if (topP !== null) nucleus(weights, allowed, topP);
      return drawFrom(weights, allowed, draw);
    };
  }

  // The index whose cumulative share first passes draw; rounding that leaves the last
  // cumulative value under a draw near 1 takes the last allowed index, never a masked one.
  function drawFrom(weights, allowed, draw) {
    let total = 0;
    for (const weight of weights) total += weight;
    let cumulative = 0;
    let chosen = 0;
    for (let index = 0; index < weights.length; index++) {
      cumulative += weights[index] / total;
      if (cumulative <= draw) chosen = index + 1;
    }
    return Math.min(chosen, allowed.lastIndexOf(true));
  }

  // --- a seeded random generator ----------------------------------------------------------------

  // xoshiro128** seeded by splitmix32 from a 32-bit seed: the same seed gives the same
  // numbers in every browser (not NumPy's numbers: sampled text differs from Python's).
  function createRandom(seed) {
    let mix = seed >>> 0;
    const splitmix = () => {
      mix = (mix + 0x9e3779b9) | 0;
      let value = mix;
      value = Math.imul(value ^ (value >>> 16), 0x85ebca6b);
      value = Math.imul(value ^ (value >>> 13), 0xc2b2ae35);
      return (value ^ (value >>> 16)) >>> 0;
    };
    const state = new Uint32Array([splitmix(), splitmix(), splitmix(), splitmix()]);
    const next = () => {
      const result = Math.imul(rotate(Math.imul(state[1], 5), 7), 9) >>> 0;
      const shifted = state[1] << 9;
      state[2] ^= state[0];
      state[3] ^= state[1];
      state[1] ^= state[2];
      state[0] ^= state[3];
      state[2] ^= shifted;
      state[3] = rotate(state[3], 11);
      return result;
    };
    // 53 random bits: a double in [0, 1), as NumPy's random() makes one.
    return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
  }

  function rotate(value, bits) {
    return (value << bits) | (value >>> (32 - bits));
  }

  root.charlstmDecoding = {
    crc32, readModel, StatefulDecoder, STATEFUL_PRIME_CONTEXT, greedy, makeChooser,
    createRandom, multiplyAdd, interleave,
  };
})(typeof window !== "undefined" ? window : globalThis);
