/** `dcs-sessions/emulator`: the local API emulator. */
export * from "./types";
export { startEmulator } from "./server";
