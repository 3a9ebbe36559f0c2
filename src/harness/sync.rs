//! The world's locks. A world lives on one thread (madsim runs it there, and a sweep's
//! jobs each run their own worlds), so its locks are never contended: a spin lock takes
//! one atomic operation to acquire and a plain store to release, where the standard
//! mutex takes two atomic operations and checks for poisoning. A panic in a world ends
//! its run (it is a finding), so nothing reads what a panicking holder left.

pub type Mutex<T> = spin::Mutex<T>;
