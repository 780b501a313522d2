//! Per-client values of the hand-written modules that generated crates
//! inline (`join()` keeps the presence all its handles share in one): one
//! value per type, created on first use, living as long as the client.

use std::any::Any;
use std::sync::{Arc, Mutex};

/// One value per type; see the module docs.
#[derive(Default)]
pub struct Extensions {
    values: Mutex<Vec<Arc<dyn Any + Send + Sync>>>,
}

impl Extensions {
    /// The value of type `T`, created with `T::default()` on first use; every
    /// later call (from any clone of the client) returns the same value.
    pub fn get_or_default<T: Any + Send + Sync + Default>(&self) -> Arc<T> {
        let mut values = self.values.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(found) = values.iter().find_map(|value| Arc::clone(value).downcast::<T>().ok()) {
            return found;
        }
        let created = Arc::new(T::default());
        values.push(Arc::clone(&created) as Arc<dyn Any + Send + Sync>);
        created
    }
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extensions").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn one_value_per_type_shared_by_every_call() {
        let extensions = Extensions::default();
        extensions.get_or_default::<AtomicU32>().fetch_add(1, Ordering::SeqCst);
        extensions.get_or_default::<AtomicU32>().fetch_add(1, Ordering::SeqCst);
        assert_eq!(extensions.get_or_default::<AtomicU32>().load(Ordering::SeqCst), 2);
        assert_eq!(*extensions.get_or_default::<Mutex<String>>().lock().unwrap(), "", "another type, another value");
    }
}
