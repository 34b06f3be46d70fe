/** `dcs-sessions/testing`. */
export {};
