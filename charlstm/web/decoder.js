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
// Where the browser allows WebAssembly (with SIMD: every current browser), that one loop
// runs as a 200-byte WebAssembly function assembled below from its instructions, two
// float64 lanes at a time, 2.5 to 3 times as fast. Its arithmetic is the JavaScript loop's
// (the same products, summed in the same order; WebAssembly never fuses a multiply and an
// add), so the two give the same bits and either gives Python's text.
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
    if (!entry || typeof entry.base64 !== "string" || !Array.isArray(shape)) {
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

  // --- the same loop in WebAssembly ---------------------------------------------------------

  function leb128(value) {
    const bytes = [];
    do {
      let byte = value & 0x7f;
      value >>>= 7;
      if (value) byte |= 0x80;
      bytes.push(byte);
    } while (value);
    return bytes;
  }

  // multiplyAdd(matrix, vector, out, rows, blocks), byte offsets into the memory it imports:
  // for each block, 4 f64x2 sums (8 outputs) over the rows, then added to out.
  function kernelBinary() {
    const get = (local) => [0x20, local];
    const set = (local) => [0x21, local];
    const simd = (operation) => [0xfd, ...leb128(operation)];
    const [LOAD, STORE, CONST, SPLAT, ADD, MULTIPLY] = [0, 11, 12, 20, 240, 242];
    const constant = (value) => [0x41, ...(value === 64 ? [0xc0, 0x00] : [value])];
    // Locals: 0 matrix, 1 vector, 2 out, 3 rows, 4 blocks (parameters), 5 row countdown,
    // 6 vector pointer, 7-10 the four sums, 11 the vector's value in both lanes.
    const sums = [], stores = [], zeros = [];
    for (let lane = 0; lane < 4; lane++) {
      sums.push(...get(7 + lane), ...get(11), ...get(0), ...simd(LOAD), 4, 16 * lane,
        ...simd(MULTIPLY), ...simd(ADD), ...set(7 + lane));
      stores.push(...get(2), ...get(2), ...simd(LOAD), 4, 16 * lane, ...get(7 + lane),
        ...simd(ADD), ...simd(STORE), 4, 16 * lane);
      zeros.push(...simd(CONST), ...new Array(16).fill(0), ...set(7 + lane));
    }
    const advance = (local, step, operation) => [...get(local), ...constant(step), operation,
      ...set(local)];
    const body = [
      0x02, 0x40, 0x03, 0x40, ...get(4), 0x45, 0x0d, 1, // each block, until blocks is 0
      ...zeros, ...get(3), ...set(5), ...get(1), ...set(6),
      0x02, 0x40, 0x03, 0x40, ...get(5), 0x45, 0x0d, 1, // each row, until the countdown is 0
      ...get(6), 0x2b, 3, 0, ...simd(SPLAT), ...set(11), ...sums,
      ...advance(0, 64, 0x6a), ...advance(6, 8, 0x6a), ...advance(5, 1, 0x6b),
      0x0c, 0, 0x0b, 0x0b,
      ...stores, ...advance(2, 64, 0x6a), ...advance(4, 1, 0x6b),
      0x0c, 0, 0x0b, 0x0b, 0x0b,
    ];
    const code = [0x02, 0x02, 0x7f, 0x05, 0x7b, ...body]; // locals: 2 i32, 5 v128
    const section = (id, bytes) => [id, ...leb128(bytes.length), ...bytes];
    const name = (text) => [text.length, ...Array.from(text, (char) => char.charCodeAt(0))];
    return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, [1, 0x60, 5, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
      ...section(2, [1, ...name("env"), ...name("memory"), 0x02, 0x00, 0x01]),
      ...section(3, [1, 0]),
      ...section(7, [1, ...name("multiplyAdd"), 0x00, 0]),
      ...section(10, [1, ...leb128(code.length), ...code])]);
  }

  // The network's multiply-add: the WebAssembly function over one memory that holds every
  // interleaved matrix (moved there) and room for one input and one output, or, where
  // WebAssembly cannot run (an old browser, a host whose Content-Security-Policy forbids
  // it), the JavaScript loop. Sets network.kernel to "webassembly" or "javascript".
  function attachKernel(network, matrices, useWebAssembly) {
    network.kernel = "javascript";
    network.multiplyAdd = multiplyAdd;
    if (!useWebAssembly || typeof WebAssembly !== "object") return;
    let instance, memory;
    const rows = Math.max(...matrices.map((matrix) => matrix.rows));
    const columns = Math.max(...matrices.map((matrix) => matrix.blocks * BLOCK));
    const doubles = matrices.reduce((total, matrix) => total + matrix.packed.length, 0) +
      rows + columns;
    try {
      memory = new WebAssembly.Memory({ initial: Math.ceil((8 * doubles) / 65536) });
      instance = new WebAssembly.Instance(new WebAssembly.Module(kernelBinary()),
        { env: { memory } });
    } catch (error) {
      return; // no SIMD, or not allowed here: the JavaScript loop
    }
    let offset = 0; // in doubles
    const place = (length) => {
      const view = new Float64Array(memory.buffer, 8 * offset, length);
      offset += length;
      return view;
    };
    for (const matrix of matrices) {
      const moved = place(matrix.packed.length);
      moved.set(matrix.packed);
      matrix.packed = moved;
    }
    const input = place(rows), output = place(columns);
    const run = instance.exports.multiplyAdd;
    network.kernel = "webassembly";
    network.multiplyAdd = (matrix, vector, out) => {
      const width = matrix.blocks * BLOCK;
      input.set(vector.subarray(0, matrix.rows));
      output.set(out.subarray(0, width));
      run(matrix.packed.byteOffset, input.byteOffset, output.byteOffset, matrix.rows,
        matrix.blocks);
      out.set(output.subarray(0, width));
    };
  }

  // --- the cells (charlstm.model.cells): one step function each, chosen by the model's cell ----

  // The tanh form of the logistic function, as charlstm.model.cells._sigmoid.
  function sigmoid(value) {
    return 0.5 * (1.0 + Math.tanh(0.5 * value));
  }

  // Keras' LSTM cell: gates i, f, c, o from [input; hidden] (or an input row plus hidden),
  // as charlstm.model.cells.lstm_step. A step reads the layer's vector [input; hidden] and
  // writes its new hidden state into the vector's hidden part.
  function lstmStep(layer, inputRow, units, multiplyAdd) {
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
  // row) and the recurrent part (with its second row), as charlstm.model.cells.gru_step.
  function gruStep(layer, inputRow, units, multiplyAdd) {
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

  // model.js's cell name -> its gates and bias rows (charlstm.model.cells.Cell's), whether
  // its input and recurrent kernels make one stacked matrix for [input; hidden] (an LSTM's;
  // a GRU's reset gate multiplies the recurrent part alone), and its step. A new cell is one
  // step function and its line here.
  const CELLS = {
    lstm: { gates: 4, biasRows: 1, stacked: true, step: lstmStep },
    gru: { gates: 3, biasRows: 2, stacked: false, step: gruStep },
  };

  function checkModel(model) {
    if (!model || model.format !== "charlstm-web") {
      throw new Error("it is not a charlstm web export's weights file");
    }
    if (model.version !== 1) {
      throw new Error(`it is version ${model.version} of the format; this page reads version 1`);
    }
    if (!Object.prototype.hasOwnProperty.call(CELLS, model.cell)) {
      throw new Error(`its cell '${model.cell}' is unknown`);
    }
    const encodings = ["scaled", "one-hot", "embedding"];
    if (!encodings.includes(model.input_encoding)) {
      throw new Error(`its input encoding '${model.input_encoding}' is unknown`);
    }
    // Sizes and the vocabulary are read before any array: a file missing them must say so,
    // not fail later on an undefined (a "Cannot read properties of undefined" on the page).
    for (const name of ["vocab_size", "output_size", "units", "layers"]) {
      if (!Number.isInteger(model[name]) || model[name] < 1) {
        throw new Error(`its ${name} is missing or not a positive whole number`);
      }
    }
    const vocabulary = model.vocabulary;
    if (!Array.isArray(vocabulary) || vocabulary.length !== model.vocab_size ||
        !vocabulary.every((char) => typeof char === "string" && char.length > 0)) {
      throw new Error(`its vocabulary is missing or is not ${model.vocab_size} characters`);
    }
  }

  // A weights file's object (window.charlstmModel) as a network the decoder steps; Error
  // with what is wrong for anything but a well-formed, undamaged file. webassembly: false
  // keeps the JavaScript loop (for comparing the two).
  function readModel(model, { webassembly = true } = {}) {
    checkModel(model);
    const arrays = {};
    for (const entry of model.arrays || []) arrays[entry.name] = readArray(entry);
    // An array of the shape the topology says, so that no wrong size is read past.
    const take = (name, ...shape) => {
      if (!arrays[name]) throw new Error(`array ${name} is missing`);
      if (JSON.stringify(arrays[name].shape) !== JSON.stringify(shape)) {
        throw new Error(`array ${name} has shape ${JSON.stringify(arrays[name].shape)}, ` +
          `not the ${JSON.stringify(shape)} of the model it describes`);
      }
      return arrays[name];
    };
    const { cell, units, vocab_size: vocabSize, output_size: outputSize } = model;
    const network = { cell, units, vocabSize, encoding: model.input_encoding, layers: [] };
    let inputWidth = { scaled: 1, "one-hot": vocabSize, embedding: model.embedding_size }[
      model.input_encoding];
    if (model.input_encoding === "embedding") {
      network.embedding = take("embedding", vocabSize, inputWidth).values;
    }
    const width = CELLS[cell].gates * units;
    const biasShape = CELLS[cell].biasRows === 1 ? [width] : [CELLS[cell].biasRows, width];
    for (let number = 1; number <= model.layers; number++) {
      const kernel = take(`layer_${number}/kernel`, inputWidth, width).values;
      const recurrent = take(`layer_${number}/recurrent_kernel`, units, width).values;
      const bias = take(`layer_${number}/bias`, ...biasShape).values;
      const lookup = number === 1 && model.input_encoding !== "scaled";
      network.layers.push(layerOf(cell, kernel, recurrent, bias, inputWidth, units, lookup));
      inputWidth = units;
    }
    network.outputSize = outputSize;
    network.dense = interleave(take("dense/kernel", units, outputSize).values, units, outputSize);
    network.denseBias = take("dense/bias", outputSize).values;
    const matrices = [network.dense];
    for (const layer of network.layers) {
      matrices.push(...[layer.stacked, layer.recurrent, layer.input].filter(Boolean));
    }
    attachKernel(network, matrices, webassembly);
    return network;
  }

  // One recurrent layer. lookup: its input is a one-hot or embedding row (the kernel's rows,
  // or the embedding times the kernel, added whole), else a vector multiplied. An LSTM's
  // input and recurrent kernels are one stacked matrix for [input; hidden]; a GRU keeps
  // them apart, because its reset gate multiplies the recurrent part of the candidate only.
  function layerOf(cell, kernel, recurrent, bias, inputWidth, units, lookup) {
    const width = CELLS[cell].gates * units;
    const layer = { inputWidth, lookup, kernel, bias };
    if (CELLS[cell].stacked && !lookup) {
      layer.stacked = interleave(stack(kernel, inputWidth, recurrent, units, width),
        inputWidth + units, width);
    } else {
      layer.recurrent = interleave(recurrent, units, width);
      if (!lookup) layer.input = interleave(kernel, inputWidth, width);
    }
    return layer;
  }

  // --- stepping --------------------------------------------------------------------------------

  class StatefulDecoder {
    constructor(network) {
      this.network = network;
      this.multiplyAdd = network.multiplyAdd;
      const { units, cell } = network;
      this.cell = CELLS[cell];
      const width = this.cell.gates * units;
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
        this.cell.step(layer, inputRow, units, this.multiplyAdd);
        below = layer.vector.subarray(layer.inputWidth);
      }
      return below;
    }

    // Layer 1's input contribution for a one-hot (kernel row `index`) or an embedding input
    // (the embedding's row times the kernel, computed once per character and kept).
    inputRow(layer, index) {
      const width = this.cell.gates * this.network.units;
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

    // The Dense layer and its softmax, as StatefulDecoder.advance: logits less their
    // maximum, exponentials, over their sum.
    probabilities(top) {
      const size = this.network.outputSize;
      const logits = this.logits;
      logits.set(this.network.denseBias, 0);
      this.multiplyAdd(this.network.dense, top, logits);
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

  // --- a seeded random generator: NumPy's default_rng(seed) --------------------------------

  // NumPy's default_rng(seed) in JavaScript, so a seed draws the same numbers here as in
  // Python: SeedSequence (numpy/random/bit_generator.pyx) hashes the seed into PCG64's
  // 128-bit state and increment, PCG64 (numpy/random/src/pcg64) steps them, random() is
  // (next_uint64 >> 11) * 2**-53 and integers(low, high) is Generator.integers' Lemire draw
  // (distributions.c random_bounded_uint64_fill). BigInt keeps the 128-bit arithmetic exact;
  // a text takes one draw a character, so speed does not matter here.
  const MASK32 = 0xffffffffn;
  const MASK64 = 0xffffffffffffffffn;
  const MASK128 = (1n << 128n) - 1n;
  const PCG_MULTIPLIER = 0x2360ed051fc65da44385df649fccf645n;
  const SEED_WORDS = 4; // SeedSequence's pool size

  function multiply32(a, b) {
    return Number((BigInt(a) * BigInt(b)) & MASK32);
  }

  // SeedSequence's hashmix: hashConstant is a one-element array it advances, as NumPy does.
  function hashmix(value, hashConstant) {
    value = (value ^ hashConstant[0]) >>> 0;
    hashConstant[0] = multiply32(hashConstant[0], 0x931e8875);
    value = multiply32(value, hashConstant[0]);
    return (value ^ (value >>> 16)) >>> 0;
  }

  function mix(x, y) {
    const result = Number((0xca01f9ddn * BigInt(x) - 0x4973f715n * BigInt(y)) & MASK32);
    return (result ^ (result >>> 16)) >>> 0;
  }

  // A non-negative integer seed as SeedSequence reads it: 32-bit words, least first (0 is [0]).
  function seedWords(seed) {
    let value = BigInt(seed);
    if (value < 0n) throw new Error("the seed must be a non-negative integer");
    const words = [];
    do {
      words.push(Number(value & MASK32));
      value >>= 32n;
    } while (value > 0n);
    return words;
  }

  function seedPool(entropy) {
    const pool = new Array(SEED_WORDS).fill(0);
    const hashConstant = [0x43b0d7e5];
    for (let index = 0; index < SEED_WORDS; index++) {
      pool[index] = hashmix(index < entropy.length ? entropy[index] : 0, hashConstant);
    }
    for (let source = 0; source < SEED_WORDS; source++) {
      for (let target = 0; target < SEED_WORDS; target++) {
        if (source !== target) pool[target] = mix(pool[target], hashmix(pool[source], hashConstant));
      }
    }
    for (let source = SEED_WORDS; source < entropy.length; source++) {
      for (let target = 0; target < SEED_WORDS; target++) {
        pool[target] = mix(pool[target], hashmix(entropy[source], hashConstant));
      }
    }
    return pool;
  }

  // SeedSequence.generate_state(count, uint32).
  function generateState(pool, count) {
    let hashConstant = 0x8b51f9dd;
    const state = [];
    for (let index = 0; index < count; index++) {
      let value = (pool[index % pool.length] ^ hashConstant) >>> 0;
      hashConstant = multiply32(hashConstant, 0x58f38ded);
      value = multiply32(value, hashConstant);
      state.push((value ^ (value >>> 16)) >>> 0);
    }
    return state;
  }

  function createRandom(seed) {
    // generate_state(4, uint64): eight 32-bit words, each pair a little-endian uint64;
    // the first two uint64 are the state's high and low halves, the next two the increment's.
    const words = generateState(seedPool(seedWords(seed)), 8);
    const word64 = (index) => BigInt(words[2 * index]) | (BigInt(words[2 * index + 1]) << 32n);
    const initialState = (word64(0) << 64n) | word64(1);
    const increment = (((word64(2) << 64n) | word64(3)) << 1n | 1n) & MASK128;
    let state = 0n;
    const step = () => {
      state = (state * PCG_MULTIPLIER + increment) & MASK128;
    };
    step();
    state = (state + initialState) & MASK128;
    step();
    let spareHalf = null; // next_uint32 hands out the high half of a uint64 on the next call

    function nextUint64() {
      step();
      const folded = ((state >> 64n) ^ state) & MASK64;
      const rotation = state >> 122n;
      return ((folded >> rotation) | (folded << ((64n - rotation) & 63n))) & MASK64;
    }
    function nextUint32() {
      if (spareHalf !== null) {
        const half = spareHalf;
        spareHalf = null;
        return half;
      }
      const value = nextUint64();
      spareHalf = value >> 32n;
      return value & MASK32;
    }
    // One integer in [0, range] (range inclusive, as NumPy's rng), by Lemire's method.
    function bounded(range) {
      if (range === 0n) return 0n;
      // A range that fits 32 bits draws 32-bit numbers (the buffered halves), as NumPy does.
      return range <= MASK32 ? lemire(range, nextUint32, MASK32, 32n)
        : lemire(range, nextUint64, MASK64, 64n);
    }
    // Lemire's method on `bits`-bit draws of next(); the full range is one draw.
    function lemire(range, next, mask, bits) {
      if (range === mask) return next();
      const exclusive = range + 1n;
      let product = next() * exclusive;
      if ((product & mask) < exclusive) {
        const threshold = (mask - range) % exclusive;
        while ((product & mask) < threshold) product = next() * exclusive;
      }
      return product >> bits;
    }

    // A function that returns a double in [0, 1), as rng.random(), with integers(low, high,
    // count) and uint64() beside it.
    const random = () => Number(nextUint64() >> 11n) / 9007199254740992;
    random.integers = (low, high, count = 1) => {
      if (!(high > low)) throw new Error("integers: high must be greater than low");
      const range = BigInt(high) - BigInt(low) - 1n;
      // Numbers where exact (every seed window); a BigInt past 2**53.
      const exact = (value) => (value <= BigInt(Number.MAX_SAFE_INTEGER) &&
        value >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
      return Array.from({ length: count }, () => exact(BigInt(low) + bounded(range)));
    };
    random.uint64 = nextUint64;
    return random;
  }

  root.charlstmDecoding = {
    crc32, readModel, StatefulDecoder, STATEFUL_PRIME_CONTEXT, greedy, makeChooser,
    createRandom, multiplyAdd, interleave,
  };
})(typeof window !== "undefined" ? window : globalThis);
