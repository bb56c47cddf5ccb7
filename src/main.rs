//! `git-orchestrate`: parse the command line, run it, exit with its code.

fn main() {
    keep_freed_memory();
    std::process::exit(git_orchestrate::cli::main());
}

/// Keeps memory that was freed for the next allocation instead of handing
/// it back to the kernel.
///
/// Every object libgit2 writes sets up a zlib stream of about 256 KiB and
/// frees it. With glibc's default trim threshold (128 KiB) each free shrinks
/// the heap and the next object's stream grows it again, so each object
/// written faults in 64 fresh zeroed pages: about 400 page faults per write,
/// most of them inside the writers' queue, where every other writer waits.
/// A command is short-lived and small, so what it frees stays with it.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc's allocator tuning; it is called
    // first thing in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TOP_PAD, 1 << 20);
    }
}
