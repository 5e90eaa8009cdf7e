//! `/account/…`: what a person does for their own account.

pub mod enroll;
pub mod passkeys;
