// The page's browser engine (export.py --format web): the text is made here, in this page,
// by decoder.js from the weights that model.js (loaded after this script) sets as
// window.charlstmModel. It works from disk (file://), where fetch() of a local file is
// refused, because every file is a <script src>. The contract is at the top of page.js.
//
// window.charlstmDecoder is the same decoder for scripts and tests, with no page around it:
//   charlstmDecoder.probabilities("alice was ")  // the next character's, in vocabulary order
//   charlstmDecoder.greedy("alice was ", 200)    // generate.py --stateful --temperature 0
//   charlstmDecoder.kernel()                     // "webassembly", or "javascript" where not
// Each takes a last argument {webassembly: false} to use the JavaScript loop instead.
"use strict";

(function () {
  const WEIGHTS_SCRIPT = "model.js";
  const SLICE_MS = 25; // compute this long (at most 50 ms), then let the page draw and Stop in
  const decoding = window.charlstmDecoding;

  // A <script> that cannot be read fires "error" on its element, which does not bubble:
  // listen while the page loads, before model.js's tag is reached.
  let weightsMissing = false;
  window.addEventListener("error", (event) => {
    const target = event.target;
    if (target && target.tagName === "SCRIPT" && target.src.endsWith(WEIGHTS_SCRIPT)) {
      weightsMissing = true;
    }
  }, true);

  let loaded = null;
  let javascriptOnly = null; // the network with the JavaScript loop, made when asked for

  // The model of model.js, checked and laid out once: {model, network, vocabulary}.
  function load() {
    if (loaded) return loaded;
    const model = window.charlstmModel;
    if (model === undefined) {
      throw new Error(weightsMissing ?
        `the weights file ${WEIGHTS_SCRIPT} is missing: copy the whole folder that ` +
          "export.py --format web wrote, or export it again" :
        `the weights file ${WEIGHTS_SCRIPT} is damaged: it did not run (cut short or ` +
          "edited?); export the folder again with export.py --format web");
    }
    let network;
    try {
      network = decoding.readModel(model);
    } catch (error) {
      throw new Error(`the weights file ${WEIGHTS_SCRIPT} is damaged: ${error.message}; ` +
        "export the folder again with export.py --format web");
    }
    loaded = { model, network, vocabulary: model.vocabulary };
    return loaded;
  }

  // --- the prime: prepared as generate.py prepares one (charlstm.text.rules.prepare_text)

  function prepare(text, rules) {
    if (text.startsWith("\ufeff")) text = text.slice(1);
    text = text.replace(/\r\n/g, "\n").replace(/\r/g, "\n");
    if (!rules.keep_case) text = text.toLowerCase();
    if (rules.strip_punctuation) text = text.replace(/\p{Pd}/gu, " ").replace(/\p{P}/gu, "");
    return text;
  }

  // A character as Python's repr writes it, so messages read as generate.py's.
  function pythonRepr(char) {
    const escapes = { "\n": "\\n", "\t": "\\t", "\r": "\\r", "\\": "\\\\" };
    if (char in escapes) return `'${escapes[char]}'`;
    const code = char.codePointAt(0);
    if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, "0")}'`;
    return char === "'" ? `"'"` : `'${char}'`;
  }

  // The prime's indices; Error naming the characters the model does not know.
  function encodePrime(prime, model) {
    const characters = Array.from(prepare(prime, model.text_rules));
    if (characters.length === 0) throw new Error("the prime is empty: give at least one character");
    const lookup = new Map(model.vocabulary.map((char, index) => [char, index]));
    const unknown = [...new Set(characters.filter((char) => !lookup.has(char)))]
      .sort((first, second) => first.codePointAt(0) - second.codePointAt(0));
    if (unknown.length) {
      const more = unknown.length > 20 ? ` and ${unknown.length - 20} more` : "";
      throw new Error(`the prime text has ${unknown.length} character(s) the model does not ` +
        `know: ${unknown.slice(0, 20).map(pythonRepr).join(", ")}${more}`);
    }
    return characters.map((char) => lookup.get(char));
  }

  // The tutorial's start: a random window of seq_length characters of the training text.
  function randomWindow(model, random) {
    if (typeof model.seed_text !== "string") {
      throw new Error("this model carries no text (trained with --no-text-in-checkpoint): " +
        "give a prime");
    }
    const text = Array.from(model.seed_text);
    const patterns = text.length - model.seq_length;
    if (patterns <= 0) {
      throw new Error(`the seed text has ${text.length} characters: it must be longer than ` +
        `the ${model.seq_length}-character window to give a random seed window`);
    }
    // rng.integers(0, patterns, size=1), as generate.random_primes draws it for one text.
    const start = random.integers(0, patterns, 1)[0];
    const lookup = new Map(model.vocabulary.map((char, index) => [char, index]));
    return text.slice(start, start + model.seq_length).map((char) => lookup.get(char));
  }

  // --- a request's options, checked as generate.py checks its flags -----------------------

  function given(request, name, fallback) {
    const value = request[name];
    return value === undefined || value === null ? fallback : value;
  }

  // Generation's options as config.GENERATION declares them (defaults, whether whole, the
  // range in JSON Schema's words and generate.py's words for it), written into the page.
  function declarations() {
    const block = document.getElementById("generation-options");
    return Object.fromEntries(JSON.parse(block.textContent).map((entry) => [entry.name, entry]));
  }

  function withinBounds(value, bounds) {
    return !(value < bounds.minimum || value > bounds.maximum ||
      value <= bounds.exclusiveMinimum);
  }

  // What this engine takes, checked in this order (num_samples: one text a page).
  const NUMBERS = ["length", "temperature", "top_k", "top_p", "seed"];

  function checkRequest(request, model) {
    const declared = declarations();
    const options = { prime: given(request, "prime", declared.prime.default) };
    for (const name of NUMBERS) {
      const value = given(request, name, declared[name].default);
      if (value !== null && !Number.isFinite(value)) throw new Error(`${name}: ${value} is not a number`);
      options[name] = value;
    }
    for (const name of NUMBERS) {
      const value = options[name], entry = declared[name];
      if (value === null) continue;
      if (entry.whole && !Number.isInteger(value)) throw new Error(`${name}: ${value} is not a whole number`);
      if (!withinBounds(value, entry.bounds)) throw new Error(`${name}: ${value} must be ${entry.requirement}`);
      if (name === "top_k" && value > model.vocabulary.length) {
        throw new Error(`--top-k ${value} is more than the model's ` +
          `${model.vocabulary.length} characters`);
      }
    }
    options.items = given(request, "items", 0);
    if (!Number.isInteger(options.items) || options.items < 0) {
      throw new Error(`items: ${options.items} is not a whole number from 0`);
    }
    options.new_only = Boolean(given(request, "new_only", false));
    const stops = given(request, "stop_at", []);
    options.stop_at = typeof stops === "string" ? [stops] : stops;
    if (!Array.isArray(options.stop_at) ||
        options.stop_at.some((stop) => typeof stop !== "string" || stop === "")) {
      throw new Error("stop_at: each stop string must be a non-empty string");
    }
    const name = given(request, "model", model.name);
    if (name !== model.name) throw new Error(`no model '${name}' here: this page has '${model.name}'`);
    return options;
  }

  function freshSeed() {
    return crypto.getRandomValues(new Uint32Array(1))[0];
  }

  // Let the page draw and take input between slices: a timer, not only a MessageChannel
  // message. Chromium runs posted messages back to back ahead of drawing a frame, and a mouse
  // event waits for its frame: under load a Stop click took about twice as long to arrive
  // (bench/page_stop.py). A timer leaves a gap (4 ms once timers nest) for the frame and the
  // click. A hidden page draws no frames and throttles timers to
  // one a second: there the message goes on at full speed.
  const channel = new MessageChannel();
  const waiting = [];
  channel.port1.onmessage = () => waiting.shift()();
  function nextTask() {
    return new Promise((resolve) => {
      if (!document.hidden) {
        setTimeout(resolve, 0);
        return;
      }
      waiting.push(resolve);
      channel.port2.postMessage(null);
    });
  }

  // Read the prime a slice at a time, so that a long one leaves the page alive; the
  // probabilities after it, or null once the signal aborts.
  async function readPrime(decoder, prime, signal) {
    const context = prime.slice(-decoding.STATEFUL_PRIME_CONTEXT);
    decoder.reset();
    let sliceStart = performance.now();
    for (let position = 0; position < context.length - 1; position++) {
      decoder.step(context[position]);
      if (performance.now() - sliceStart > SLICE_MS) {
        await nextTask();
        if (signal.aborted) return null;
        sliceStart = performance.now();
      }
    }
    return decoder.advance(context[context.length - 1]);
  }

  // The spec's items (issue 31), as charlstm.items makes them: one generator for the call;
  // each item from zero states after the separator "\n", one draw a character, until "\n"
  // (not kept), a stop string (kept) or length characters; empty items and, with new_only,
  // training items (the non-empty lines of the carried text) are dropped; at most
  // 20 * count + 100 tries. Each item goes out with its line break.
  async function generateItems(options, random, signal, onText) {
    const { model, network, vocabulary } = load();
    const separator = model.vocabulary.indexOf("\n");
    if (separator < 0) throw new Error("items: the model has no line break character");
    let known = null;
    if (options.new_only) {
      if (typeof model.seed_text !== "string") throw new Error("new_only: this model carries no text");
      known = new Set(model.seed_text.split("\n").map((line) => line.replace(/\r+$/, ""))
        .filter((line) => line.trim() !== ""));
    }
    // Items are always sampled (charlstm.generation.items): greedy choice would write one
    // item N times, so a temperature of 0 draws at 1, the model's own distribution.
    const choose = decoding.makeChooser({ temperature: options.temperature || 1.0,
      topK: options.top_k, topP: options.top_p, random });
    let kept = 0;
    for (let tries = 0; kept < options.items && tries < 20 * options.items + 100; tries++) {
      const decoder = new decoding.StatefulDecoder(network);
      let probabilities = decoder.start([separator]);
      let item = "";
      for (let produced = 0; produced < options.length; produced++) {
        const index = choose(probabilities);
        if (index === separator) break;
        item += vocabulary[index];
        if (options.stop_at.some((stop) => item.endsWith(stop))) break;
        if (produced + 1 < options.length) probabilities = decoder.advance(index);
      }
      if (item === "" || (known !== null && known.has(item))) continue;
      kept++;
      onText(item + "\n");
      await nextTask();
      if (signal.aborted) return;
    }
  }

  async function generate(request, { onText, onSeed, onPrime, signal }) {
    const { model, network, vocabulary } = load();
    const options = checkRequest(request, model);
    const seed = options.seed === null ? freshSeed() : options.seed;
    const random = decoding.createRandom(seed);
    if (options.items > 0) {
      onSeed(seed);
      onPrime("\n");
      return generateItems(options, random, signal, onText);
    }
    const prime = options.prime === null ? randomWindow(model, random) :
      encodePrime(options.prime, model);
    onSeed(seed);
    onPrime(prime.map((index) => vocabulary[index]).join(""));
    const choose = decoding.makeChooser({ temperature: options.temperature,
      topK: options.top_k, topP: options.top_p, random });
    const decoder = new decoding.StatefulDecoder(network);
    let probabilities = await readPrime(decoder, prime, signal);
    let chunk = "";
    let written = ""; // the generated text so far (not the prime), where stop strings count
    let sliceStart = performance.now();
    for (let produced = 0; probabilities !== null && produced < options.length; produced++) {
      const index = choose(probabilities);
      chunk += vocabulary[index];
      // Stop-at only cuts (issue 31): right after the first stop string wholly generated.
      if (options.stop_at.length) {
        written += vocabulary[index];
        if (options.stop_at.some((stop) => written.endsWith(stop))) break;
      }
      if (produced + 1 < options.length) probabilities = decoder.advance(index);
      if (performance.now() - sliceStart > SLICE_MS) {
        onText(chunk);
        chunk = "";
        await nextTask();
        if (signal.aborted) return;
        sliceStart = performance.now();
      }
    }
    if (chunk && !signal.aborted) onText(chunk);
  }

  function describe(model) {
    return { name: model.name, vocabulary_size: model.vocabulary.length, loss: model.loss,
      val_loss: model.val_loss, seq_length: model.seq_length, settings: model.settings,
      documents_mode: model.documents_mode || "files" };
  }

  window.charlstmEngine = {
    name: "browser",
    async models() {
      return [describe(load().model)];
    },
    generate,
  };

  function networkFor({ webassembly = true } = {}) {
    const { model, network } = load();
    if (webassembly) return network;
    javascriptOnly = javascriptOnly || decoding.readModel(model, { webassembly: false });
    return javascriptOnly;
  }

  // The decoder alone, for scripts and tests: what generate.py --stateful computes.
  window.charlstmDecoder = {
    kernel(options) {
      return networkFor(options).kernel;
    },
    probabilities(prime, options) {
      const decoder = new decoding.StatefulDecoder(networkFor(options));
      return Array.from(decoder.start(encodePrime(prime, load().model)));
    },
    greedy(prime, length, options) {
      const { model, vocabulary } = load();
      const decoder = new decoding.StatefulDecoder(networkFor(options));
      let probabilities = decoder.start(encodePrime(prime, model));
      let text = "";
      for (let produced = 0; produced < length; produced++) {
        const index = decoding.greedy(probabilities);
        text += vocabulary[index];
        if (produced + 1 < length) probabilities = decoder.advance(index);
      }
      return text;
    },
  };
})();
