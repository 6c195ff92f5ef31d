"""DeepFilterNet 2/3 on ONNX Runtime: the official exports, streamed one 10 ms hop at a time.

Modules, from the registry's entry point down:

* :mod:`.backend` - :class:`~.backend.OnnxBackend` (one stream) and the registry loader.
* :mod:`.core` - the batched engine of one model (many streams' hops in one run).
* :mod:`.lane` - the lone-stream fast path (one stream, preallocated buffers).
* :mod:`.state` - what core and lane share: a model's layout and a stream's state.
* :mod:`.model` - loading an export: config, streaming sessions, shared per file hash.
* :mod:`.graphs` - rewriting the sequence graphs for frame-by-frame streaming.
* :mod:`.specialise` - fixing those graphs' shapes for single frames, faster kernels.
* :mod:`.dsp` - STFT, ERB bands and feature normalisation (port of upstream libDF).
* :mod:`.files` - finding, verifying and unpacking the exported tarballs.
* :mod:`.offline` - the whole-utterance reference the streaming path is tested against.

Nothing is imported here, so ``denoise.backends.onnx.files`` (used by the registry
to resolve model paths) does not load ONNX Runtime.
"""
