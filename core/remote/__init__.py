"""Remote stores: the protocol the engine speaks, Azure's implementation, an in-memory one."""
