//! One spare value of each type a thread: what a finished run leaves, emptied, for the
//! thread's next run (a history's buffer, the decision source's map), so a sweep does
//! not free and grow them again for every seed. The caller empties a value and bounds
//! its size before it keeps it; the thread keeps at most one of each type.

use std::any::Any;
use std::cell::RefCell;

thread_local! {
    static SPARES: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// The thread's spare `T`, or a new one.
pub fn take<T: Default + 'static>() -> T {
    let taken = SPARES.try_with(|spares| {
        let mut spares = spares.borrow_mut();
        let at = spares.iter().position(|s| s.is::<T>())?;
        spares.swap_remove(at).downcast::<T>().ok()
    });
    taken.ok().flatten().map_or_else(T::default, |b| *b)
}

/// Keeps `value` as the thread's spare `T` (instead of the one kept before, if any).
pub fn keep<T: 'static>(value: T) {
    let _ = SPARES.try_with(|spares| {
        let old = {
            let mut spares = spares.borrow_mut();
            match spares.iter().position(|s| s.is::<T>()) {
                Some(at) => Some(std::mem::replace(&mut spares[at], Box::new(value))),
                None => {
                    spares.push(Box::new(value));
                    None
                }
            }
        };
        drop(old);
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_kept_value_is_taken_once_by_its_own_type() {
        super::keep(vec![1u8; 3]);
        super::keep(String::from("kept"));
        super::keep(vec![2u8; 5]);
        assert_eq!(super::take::<Vec<u8>>(), vec![2u8; 5], "the last kept of a type replaces the one before");
        assert_eq!(super::take::<Vec<u8>>(), Vec::<u8>::new(), "taken once");
        assert_eq!(super::take::<String>(), "kept");
        assert_eq!(super::take::<Vec<u16>>(), Vec::<u16>::new());
    }
}
