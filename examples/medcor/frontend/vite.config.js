import { defineConfig } from "vite";

// Run as developers do: `vite --port $PORT --strictPort`, no --host. Vite then
// listens on `localhost`, which is ::1 only where localhost resolves to ::1 first.
export default defineConfig({
  clearScreen: false, // keep earlier lines in stackup's output
});
