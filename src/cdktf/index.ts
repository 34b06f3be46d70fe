/** `dcs-sessions/cdktf`. */
export {};
