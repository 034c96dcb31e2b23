//! The `ballotbox` command: see `ballotbox --help`.

fn main() -> std::process::ExitCode {
    return_large_frees_to_the_os();
    ballotbox::cli::run()
}

/// argon2id allocates 19 MiB per hash. glibc's dynamic mmap threshold rises
/// after the first such free, so later ones come from the heap and stay
/// resident (the benchmark saw 1.8 GiB after a login storm). A fixed 4 MiB
/// threshold keeps them mmapped, and freeing gives the memory back.
fn return_large_frees_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; called once before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    }
}
