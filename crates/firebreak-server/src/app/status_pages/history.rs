//! Component status history: what each component showed, recorded by the engine when it
//! changes, and the 90 daily bars and uptime percentage a page shows from it.
