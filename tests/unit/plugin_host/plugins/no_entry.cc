// A shared object for the host's tests that is no keel plugin: it exports a function, but not
// keel_plugin_descriptor.
extern "C" __attribute__((visibility("default"))) int some_other_library_function() { return 42; }
