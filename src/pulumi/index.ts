/** `dcs-sessions/pulumi`. */
export {};
