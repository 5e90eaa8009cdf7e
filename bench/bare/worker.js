// The ceiling: the least a module worker can do on this runtime.
export default {
  fetch() {
    return new Response("ok");
  },
};
