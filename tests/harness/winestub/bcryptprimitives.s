# bcryptprimitives.dll for Wine 8, which lacks it (Wine 9 has one). uv.exe (0.6+, through Rust's
# std) imports only ProcessPrng(PBYTE, SIZE_T) -> BOOL from it; this one fills the buffer with
# advapi32's SystemFunction036 (RtlGenRandom) and returns TRUE, as ProcessPrng always does.
# Built by tests/harness/wine.py with binutils-mingw-w64-x86-64 (as, dlltool, ld --dll).
# Windows x64 calling convention: buffer in rcx, length in rdx (RtlGenRandom takes a ULONG;
# uv asks for a few bytes at a time).

    .text
    .globl DllMain
DllMain:
    movl $1, %eax
    ret

    .globl ProcessPrng
ProcessPrng:
    subq $40, %rsp                       # 32 bytes of shadow space, and rsp 16-aligned
    call *__imp_SystemFunction036(%rip)
    movl $1, %eax
    addq $40, %rsp
    ret
