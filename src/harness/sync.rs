//! The world's locks. A world lives on one thread (madsim runs it there, and a sweep's
//! jobs each run their own worlds), so its locks are never contended: a spin lock takes
//! one atomic operation to acquire and a plain store to release, where the standard
//! mutex's release is an atomic swap and both check for poisoning. A panic in a world
//! ends its run (it is a finding), so nothing reads what a panicking holder left.
//!
//! Being never contended is checked, not assumed: taking a lock that is held panics
//! (on one thread the holder can only be this call's own caller, or a task suspended
//! while holding it), where a spin lock would spin for ever. And a guard is not `Send`,
//! as the standard one is not, so a task cannot hold one across an `.await`.

use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

/// A lock of one world's state.
#[derive(Default)]
pub struct Mutex<T>(spin::Mutex<T>);

/// The held lock; released when dropped.
pub struct MutexGuard<'a, T> {
    guard: spin::MutexGuard<'a, T>,
    /// Not `Send`: held only within one poll of one task.
    _not_send: PhantomData<*const ()>,
}

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Mutex<T> {
        Mutex(spin::Mutex::new(value))
    }

    /// Takes the lock.
    ///
    /// # Panics
    /// When it is held: a world's locks are never contended (see the module doc), so it
    /// was taken again by its own holder.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        match self.0.try_lock() {
            Some(guard) => MutexGuard { guard, _not_send: PhantomData },
            None => panic!("harness assumption broken: a world's lock was taken while held (re-entered by its holder)"),
        }
    }

    /// The value, through the one reference there is to the lock: no locking needed.
    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut()
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

#[cfg(test)]
mod tests {
    use super::Mutex;

    #[test]
    fn a_lock_is_taken_again_once_released() {
        let lock = Mutex::new(vec![1]);
        lock.lock().push(2);
        assert_eq!(*lock.lock(), [1, 2]);
    }

    #[test]
    #[should_panic(expected = "a world's lock was taken while held")]
    fn taking_a_held_lock_panics_instead_of_spinning() {
        let lock = Mutex::new(0);
        let _held = lock.lock();
        let _again = lock.lock();
    }
}
