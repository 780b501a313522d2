//! The two impls every generated operation needs in the same form, written
//! once here so that each generated file holds only what is particular to
//! its operation. For generated code; not part of the documented API.

/// `impl IntoFuture for $builder`: `.await` on a builder runs its `send()`.
#[doc(hidden)]
#[macro_export]
macro_rules! into_future {
    ($builder:ident => $output:ty) => {
        impl ::std::future::IntoFuture for $builder {
            type Output = ::std::result::Result<$output, $crate::Error>;
            type IntoFuture =
                ::std::pin::Pin<::std::boxed::Box<dyn ::std::future::Future<Output = Self::Output> + Send>>;

            fn into_future(self) -> Self::IntoFuture {
                ::std::boxed::Box::pin(self.send())
            }
        }
    };
}

/// `impl ErrorFields for $envelope`, reading the `status: WireStatus` and
/// `error: WireFlag` fields every generated body struct has.
#[doc(hidden)]
#[macro_export]
macro_rules! envelope_error_fields {
    ($envelope:ident) => {
        impl $crate::body::ErrorFields for $envelope {
            fn status(&self) -> ::std::option::Option<u64> {
                self.status.0
            }

            fn error(&self) -> bool {
                self.error.0
            }
        }
    };
}
