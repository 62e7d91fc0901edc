# Profile for an emulator driven through a boot image (spec/image-format.md): fred-bochs-dut and fred-qemu-dut.
# The harness observes RIP (which entry stub ran), RSP, RFLAGS, CS, SS, RAX, RCX, R11, the GS bases, CR2,
# IA32_FRED_CONFIG (with the current stack level), CS.L and the 64-byte frame. It cannot read the rest back, so
# the adapter reports those fields unchanged and they are not compared.
name = bochs-image
revisions = fred5
unobserved = cs_limit, cr4, efer, star, gdtr_base, gdtr_limit, fred_rsp0, fred_rsp1, fred_rsp2, fred_rsp3, fred_stklvls, pl0_ssp, fred_ssp1, fred_ssp2, fred_ssp3, s_cet, u_cet, pl3_ssp, ssp, nmi_blocked, sti_blocked, pending_db, ibt_waiting, enclave
allow no-cet
allow rf-after-return-unobserved   # the landing probe is INT3, whose saved RFLAGS never shows RF (FRED-FRAME-09)
