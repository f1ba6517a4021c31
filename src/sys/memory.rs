//! Advice to the kernel about memory the process owns.

use std::io;
use std::mem::MaybeUninit;

/// Ask for transparent huge pages under `region` (`madvise(MADV_HUGEPAGE)` on the whole pages
/// inside it): one fault and one 2 MiB clear instead of 512 faults for memory about to be
/// filled front to back. Only advice: the contents and the allocation are unchanged, and a
/// kernel without THP (or with it off) answers EINVAL, which the caller may ignore.
pub(crate) fn advise_huge_pages<T>(region: &mut [MaybeUninit<T>]) -> io::Result<()> {
    const PAGE: usize = 4096;
    let start = region.as_mut_ptr() as usize;
    let end = start + std::mem::size_of_val(region);
    let first_page = start.div_ceil(PAGE) * PAGE;
    let last_page = end / PAGE * PAGE;
    if last_page <= first_page {
        return Ok(());
    }
    // SAFETY: [first_page, last_page) lies inside `region`, memory this process owns and
    // borrows mutably here; MADV_HUGEPAGE changes how it is backed, never its contents or its
    // mapping, so no other reference can observe a difference.
    super::check(unsafe {
        libc::madvise(first_page as *mut libc::c_void, last_page - first_page, libc::MADV_HUGEPAGE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The VmFlags line of /proc/self/smaps for the mapping holding `address`.
    fn vm_flags_at(address: usize) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((from, to)) = range.split_once('-') {
                    if let (Ok(from), Ok(to)) =
                        (usize::from_str_radix(from, 16), usize::from_str_radix(to, 16))
                    {
                        inside = (from..to).contains(&address);
                        continue;
                    }
                }
            }
            if inside && line.starts_with("VmFlags:") {
                return line.to_string();
            }
        }
        panic!("no mapping holds {address:#x}")
    }

    #[test]
    fn a_big_region_is_marked_for_huge_pages_and_keeps_its_contents() {
        let mut vec: Vec<u8> = Vec::with_capacity(16 << 20);
        vec.extend_from_slice(b"kept");
        let spare = vec.spare_capacity_mut();
        let middle = spare.as_ptr() as usize + spare.len() / 2;
        match advise_huge_pages(spare) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                eprintln!("this kernel has no transparent huge pages: nothing to check");
                return;
            }
            result => result.unwrap(),
        }
        assert!(vm_flags_at(middle).split_whitespace().any(|f| f == "hg"), "MADV_HUGEPAGE set");
        assert_eq!(&vec[..], b"kept");
    }

    #[test]
    fn a_region_smaller_than_a_page_is_left_alone() {
        let mut small = [MaybeUninit::<u8>::uninit(); 100];
        advise_huge_pages(&mut small).unwrap();
    }
}
