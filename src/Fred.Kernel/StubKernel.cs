using System.Text;
using Fred.Reference;

namespace Fred.Kernel;

/// <summary>
/// The stub kernel a kernel's FRED dispatch file is compiled against (FRED-KDIFF-02): one header, written here, that
/// declares what the dispatch code uses (pt_regs with both the RFC's and mainline's field names, the event-type and
/// trap-number constants, the kernel services it calls) and a recording runtime that logs every service call with
/// its arguments in the reference's trace notation. No kernel code is copied: the header is the interface the dispatch
/// file expects, restated from the kernel's documentation of each service.
/// </summary>
public static class StubKernel
{
    /// <summary>The system-vector macros of irq_vectors.h the mainline table names, with their vectors.</summary>
    public static readonly IReadOnlyList<(string Macro, int Vector, string Handler)> SystemVectors =
    [
        ("ERROR_APIC_VECTOR", 0xFE, "error_interrupt"), ("SPURIOUS_APIC_VECTOR", 0xFF, "spurious_apic_interrupt"),
        ("LOCAL_TIMER_VECTOR", 0xEC, "apic_timer_interrupt"), ("X86_PLATFORM_IPI_VECTOR", 0xF7, "x86_platform_ipi"),
        ("RESCHEDULE_VECTOR", 0xFD, "reschedule_ipi"), ("CALL_FUNCTION_SINGLE_VECTOR", 0xFB, "call_function_single"),
        ("CALL_FUNCTION_VECTOR", 0xFC, "call_function"), ("REBOOT_VECTOR", 0xF8, "reboot"),
        ("THRESHOLD_APIC_VECTOR", 0xF9, "threshold"), ("DEFERRED_ERROR_VECTOR", 0xF4, "deferred_error"),
        ("THERMAL_APIC_VECTOR", 0xFA, "thermal"), ("IRQ_WORK_VECTOR", 0xF6, "irq_work"),
        ("PERF_GUEST_MEDIATED_PMI_VECTOR", 0xF5, "perf_guest_mediated_pmi_handler"),
        ("POSTED_INTR_VECTOR", 0xF2, "kvm_posted_intr_ipi"), ("POSTED_INTR_WAKEUP_VECTOR", 0xF1, "kvm_posted_intr_wakeup_ipi"),
        ("POSTED_INTR_NESTED_VECTOR", 0xF0, "kvm_posted_intr_nested_ipi"), ("POSTED_MSI_NOTIFICATION_VECTOR", 0xEB, "posted_msi_notification"),
    ];

    /// <summary>Services taking only pt_regs: each records "name(regs)".</summary>
    static readonly string[] RegsOnly =
    [
        "exc_divide_error", "exc_overflow", "exc_bounds", "exc_device_not_available", "exc_coprocessor_error",
        "exc_simd_coprocessor_error", "exc_int3", "exc_invalid_op", "exc_virtualization_exception",
        "fred_exc_debug", "fred_exc_nmi", "fred_exc_page_fault", "fred_int80_emulation",
        "do_fast_syscall_32", "do_int80_syscall_32",
    ];

    /// <summary>Services taking pt_regs and an error code: each records "name(regs, 0x..)".</summary>
    static readonly string[] RegsAndErrorCode =
    [
        "exc_invalid_tss", "exc_segment_not_present", "exc_double_fault", "exc_stack_segment", "exc_general_protection",
        "exc_alignment_check", "exc_page_fault", "exc_control_protection",
    ];

    /// <summary>The CONFIG_ options the header knows; IS_ENABLED of any other is 0.</summary>
    public static string ConfigDefines(KernelConfig c)
    {
        var sb = new StringBuilder();
        void Opt(string name, bool on)
        {
            if (on) sb.Append("#define ").Append(name).AppendLine(" 1");
            sb.Append("#define FRED_STUB_IS_").Append(name).AppendLine(on ? " 1" : " 0");
        }
        Opt("CONFIG_IA32_EMULATION", c.Ia32Emulation);
        Opt("CONFIG_X86_MCE", c.MachineCheck);
        Opt("CONFIG_X86_CET", c.Cet);
        Opt("CONFIG_INTEL_TDX_GUEST", c.TdxGuest);
        Opt("CONFIG_X86_FRED", true);
        Opt("CONFIG_X86_64", true);
        Opt("CONFIG_KVM_INTEL", false);
        Opt("CONFIG_X86_POSTED_MSI", c.FirstSystemVector == 0xEB);
        sb.AppendLine($"#define FIRST_SYSTEM_VECTOR 0x{c.FirstSystemVector:x}");
        return sb.ToString();
    }

    /// <summary>The header forced into the dispatch file (gcc -include) for one compile-time configuration.</summary>
    public static string Header(KernelConfig c, string extraDeclarations = "")
    {
        var sb = new StringBuilder();
        sb.AppendLine("/* Fred's stub kernel: the interface a FRED dispatch file expects, for differential testing. */");
        sb.AppendLine("#ifndef FRED_STUB_KERNEL_H");
        sb.AppendLine("#define FRED_STUB_KERNEL_H");
        sb.AppendLine("#include <stdbool.h>");
        sb.AppendLine("#include <stddef.h>");
        sb.Append(ConfigDefines(c));
        sb.AppendLine(CommonHeader);
        foreach (var (macro, vector, _) in SystemVectors) sb.AppendLine($"#define {macro} 0x{vector:x}");
        foreach (var (_, vector, handler) in SystemVectors)
            if (vector >= c.FirstSystemVector) sb.AppendLine($"void fred_sysvec_{handler}(struct pt_regs *regs);");
            else sb.AppendLine($"#define fred_sysvec_{handler} NULL");
        foreach (var f in RegsOnly) sb.AppendLine($"void {f}(struct pt_regs *regs);");
        foreach (var f in RegsAndErrorCode) sb.AppendLine($"void {f}(struct pt_regs *regs, unsigned long error_code);");
        sb.AppendLine(c.MachineCheck ? "void fred_exc_machine_check(struct pt_regs *regs);" : "#define fred_exc_machine_check (NULL)");
        sb.Append(extraDeclarations);
        sb.AppendLine("#endif");
        return sb.ToString();
    }

    /// <summary>The recording runtime and driver, compiled without instrumentation beside the dispatch file.</summary>
    public static string Runtime(KernelConfig c)
    {
        var sb = new StringBuilder();
        sb.AppendLine("#include \"fred_stub_kernel.h\"");
        sb.AppendLine(RuntimeCommon);
        foreach (var f in RegsOnly) sb.AppendLine($"void {f}(struct pt_regs *regs) {{ (void)regs; fred_rec(\"{f}\", \"regs\"); }}");
        foreach (var f in RegsAndErrorCode)
            sb.AppendLine($"void {f}(struct pt_regs *regs, unsigned long error_code) {{ (void)regs; fred_recf(\"{f}\", \"regs, 0x%lx\", error_code); }}");
        if (c.MachineCheck) sb.AppendLine("void fred_exc_machine_check(struct pt_regs *regs) { (void)regs; fred_rec(\"fred_exc_machine_check\", \"regs\"); }");
        foreach (var (_, vector, handler) in SystemVectors)
            if (vector >= c.FirstSystemVector)
                sb.AppendLine($"void fred_sysvec_{handler}(struct pt_regs *regs) {{ (void)regs; fred_rec(\"fred_sysvec_{handler}\", \"regs\"); }}");
        return sb.ToString();
    }

    const string CommonHeader = """
typedef unsigned char u8; typedef unsigned short u16; typedef unsigned int u32; typedef unsigned long u64;
typedef signed char s8; typedef short s16; typedef int s32; typedef long s64;
#define FRED_STUB_NOINSTR __attribute__((no_instrument_function))
#define __visible
#define noinstr
#define __always_inline inline
#define __init
#define __initdata
#define __ro_after_init
#define notrace
#define fallthrough __attribute__((__fallthrough__))
#define likely(x) (x)
#define unlikely(x) (x)
#define BIT(n) (1UL << (n))
#define IS_ENABLED(option) FRED_STUB_IS_##option
#define SIGKILL 9
#define ENOSYS 38
#define NUM_EXCEPTION_VECTORS 32
#define FIRST_EXTERNAL_VECTOR 0x20
#define NR_VECTORS 256
#define NR_SYSTEM_VECTORS (NR_VECTORS - FIRST_SYSTEM_VECTOR)
#define IA32_SYSCALL_VECTOR 0x80
#define FRED_SYSCALL 1
#define FRED_SYSENTER 2
#define FRED_EVENT_TYPE_COUNT 8
enum { EVENT_TYPE_EXTINT = 0, EVENT_TYPE_HWINT = 0, EVENT_TYPE_RESERVED = 1, EVENT_TYPE_NMI = 2, EVENT_TYPE_HWEXC = 3,
       EVENT_TYPE_HWFAULT = 3, EVENT_TYPE_SWINT = 4, EVENT_TYPE_PRIV_SWEXC = 5, EVENT_TYPE_PRIVSW = 5,
       EVENT_TYPE_SWEXC = 6, EVENT_TYPE_SWFAULT = 6, EVENT_TYPE_OTHER = 7 };
enum { X86_TRAP_DE = 0, X86_TRAP_DB, X86_TRAP_NMI, X86_TRAP_BP, X86_TRAP_OF, X86_TRAP_BR, X86_TRAP_UD, X86_TRAP_NM,
       X86_TRAP_DF, X86_TRAP_OLD_MF, X86_TRAP_TS, X86_TRAP_NP, X86_TRAP_SS, X86_TRAP_GP, X86_TRAP_PF, X86_TRAP_SPURIOUS,
       X86_TRAP_MF, X86_TRAP_AC, X86_TRAP_MC, X86_TRAP_XF, X86_TRAP_VE, X86_TRAP_CP, X86_TRAP_VC = 29, X86_TRAP_IRET = 32 };
/* The saved CS and SS words of a FRED frame under both kernels' names: mainline's fred_cs/fred_ss, the RFC's flat fields. */
struct fred_cs { u64 cs : 16, sl : 2, wfe : 1, : 45; };
struct fred_ss { u64 ss : 16, sti : 1, swevent : 1, nmi : 1, : 13, vector : 8, : 8, type : 4, : 4, enclave : 1, l : 1,
                 nested : 1, : 1, insnlen : 4; };
struct pt_regs {
    unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax, ip;
    union { unsigned long csx; struct fred_cs fred_cs; u16 cs; struct { u64 : 16, current_stack_level : 2, : 46; }; };
    unsigned long flags, sp;
    union { unsigned long ssx; struct fred_ss fred_ss; u16 ss;
            struct { u64 : 32, vector : 8, : 8, type : 4, : 4, : 1, long_mode : 1, : 2, instr_len : 4; }; };
};
struct fred_info { struct pt_regs regs; unsigned long edata; unsigned long resv; };
static inline FRED_STUB_NOINSTR unsigned long fred_event_data(struct pt_regs *regs)
{ return ((struct fred_info *)((char *)regs - offsetof(struct fred_info, regs)))->edata; }
typedef void (*fred_handler)(struct pt_regs *regs);
typedef void (*idtentry_t)(struct pt_regs *regs);
#define DEFINE_FRED_HANDLER(name) void name(struct pt_regs *regs)
typedef struct { bool exit_rcu; } irqentry_state_t;
/* Recording services (fred_stub_runtime.c). */
void fred_rec(const char *name, const char *args);
void fred_recf(const char *name, const char *fmt, unsigned long v);
unsigned long fred_rec_index(unsigned long index, unsigned long size);
void fred_rec_warn(const char *cond);
irqentry_state_t irqentry_enter(struct pt_regs *regs);
void irqentry_exit(struct pt_regs *regs, irqentry_state_t state);
irqentry_state_t irqentry_nmi_enter(struct pt_regs *regs);
void irqentry_nmi_exit(struct pt_regs *regs, irqentry_state_t state);
void fred_stub_instrumentation(int begin);
#define instrumentation_begin() fred_stub_instrumentation(1)
#define instrumentation_end() fred_stub_instrumentation(0)
#define array_index_nospec(index, size) fred_rec_index((unsigned long)(index), (unsigned long)(size))
#define WARN_ON_ONCE(cond) ({ int fred_stub_c = !!(cond); if (fred_stub_c) fred_rec_warn(#cond); fred_stub_c; })
#define WARN_ON(cond) WARN_ON_ONCE(cond)
int pr_emerg(const char *fmt, ...);
int pr_alert(const char *fmt, ...);
void die(const char *str, struct pt_regs *regs, long err);
int __die(const char *str, struct pt_regs *regs, long err);
unsigned long oops_begin(void);
void oops_end(unsigned long flags, struct pt_regs *regs, int signr);
void panic(const char *fmt, ...) __attribute__((noreturn));
bool ia32_enabled(void);
int external_interrupt(struct pt_regs *regs, unsigned int vector);
void common_interrupt(struct pt_regs *regs, unsigned long vector);
void spurious_interrupt(struct pt_regs *regs, unsigned long vector);
void do_syscall_64(struct pt_regs *regs, int nr);
extern unsigned long system_vectors[NR_VECTORS / 64];
static inline FRED_STUB_NOINSTR void set_bit(long nr, unsigned long *addr) { addr[nr / 64] |= 1UL << (nr % 64); }
""";

    const string RuntimeCommon = """
#include <setjmp.h>
#include <signal.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One dispatch's trace: services record here; instrumented functions of the dispatch file record their addresses. */
static char trace[65536];
static size_t trace_len;
static jmp_buf task_end;
static int fate_oops, fate_survived, fate_warned, recording;
static int rt_ia32_enabled, rt_die_stops;
unsigned long system_vectors[NR_VECTORS / 64];

static FRED_STUB_NOINSTR void put(const char *s)
{
    size_t n = strlen(s);
    if (trace_len + n + 1 >= sizeof trace) { raise(SIGABRT); }   /* a runaway trace: reported like a crash */
    memcpy(trace + trace_len, s, n); trace_len += n; trace[trace_len] = 0;
}
static FRED_STUB_NOINSTR void call_start(const char *name)
{
    if (trace_len) put(" -> ");
    put(name); put("(");
}
FRED_STUB_NOINSTR void fred_rec(const char *name, const char *args) { call_start(name); put(args); put(")"); }
FRED_STUB_NOINSTR void fred_recf(const char *name, const char *fmt, unsigned long v)
{ char b[128]; snprintf(b, sizeof b, fmt, v); fred_rec(name, b); }
FRED_STUB_NOINSTR unsigned long fred_rec_index(unsigned long index, unsigned long size)
{
    char b[64]; snprintf(b, sizeof b, "%lu, %lu", index, size); fred_rec("array_index_nospec", b);
    return index < size ? index : 0;   /* the architectural result of the clamp */
}
FRED_STUB_NOINSTR void fred_rec_warn(const char *cond) { (void)cond; fred_rec("WARN_ON_ONCE", "*"); fate_warned = 1; }
FRED_STUB_NOINSTR irqentry_state_t irqentry_enter(struct pt_regs *r) { (void)r; fred_rec("irqentry_enter", "regs"); irqentry_state_t s = {0}; return s; }
FRED_STUB_NOINSTR void irqentry_exit(struct pt_regs *r, irqentry_state_t s) { (void)r; (void)s; fred_rec("irqentry_exit", "regs"); }
FRED_STUB_NOINSTR irqentry_state_t irqentry_nmi_enter(struct pt_regs *r) { (void)r; fred_rec("irqentry_nmi_enter", "regs"); irqentry_state_t s = {0}; return s; }
FRED_STUB_NOINSTR void irqentry_nmi_exit(struct pt_regs *r, irqentry_state_t s) { (void)r; (void)s; fred_rec("irqentry_nmi_exit", "regs"); }
FRED_STUB_NOINSTR void fred_stub_instrumentation(int begin) { fred_rec(begin ? "instrumentation_begin" : "instrumentation_end", "regs"); }

/* A string as the C literal that would print it: quotes, and \n for a newline. */
static FRED_STUB_NOINSTR void put_literal(const char *s)
{
    put("\"");
    for (; *s; s++)
    {
        char c[3] = { *s, 0, 0 };
        if (*s == '\n') { c[0] = '\\'; c[1] = 'n'; }
        else if (*s == '"' || *s == '\\') { c[0] = '\\'; c[1] = *s; }
        put(c);
    }
    put("\"");
}
static FRED_STUB_NOINSTR int printk_like(const char *name, const char *fmt, va_list ap)
{
    char b[1024]; int n = vsnprintf(b, sizeof b, fmt, ap);
    call_start(name); put_literal(b); put(")");
    return n;
}
FRED_STUB_NOINSTR int pr_emerg(const char *fmt, ...) { va_list ap; va_start(ap, fmt); int n = printk_like("pr_emerg", fmt, ap); va_end(ap); return n; }
FRED_STUB_NOINSTR int pr_alert(const char *fmt, ...) { va_list ap; va_start(ap, fmt); int n = printk_like("pr_alert", fmt, ap); va_end(ap); return n; }
FRED_STUB_NOINSTR void die(const char *str, struct pt_regs *regs, long err)
{ (void)regs; call_start("die"); put_literal(str); char b[64]; snprintf(b, sizeof b, ", regs, 0x%lx)", (unsigned long)err); put(b); }
FRED_STUB_NOINSTR int __die(const char *str, struct pt_regs *regs, long err)
{ (void)regs; call_start("__die"); put_literal(str); char b[64]; snprintf(b, sizeof b, ", regs, 0x%lx)", (unsigned long)err); put(b); return rt_die_stops; }
FRED_STUB_NOINSTR unsigned long oops_begin(void) { fred_rec("oops_begin", ""); return 0; }
FRED_STUB_NOINSTR void oops_end(unsigned long flags, struct pt_regs *regs, int signr)
{
    (void)flags; (void)regs;
    char b[64];
    if (signr == SIGKILL) snprintf(b, sizeof b, "flags, regs, SIGKILL"); else snprintf(b, sizeof b, "flags, regs, %d", signr);
    fred_rec("oops_end", b);
    if (signr) { fate_oops = 1; longjmp(task_end, 1); }   /* make_task_dead: the task does not come back */
    fate_survived = 1;
}
FRED_STUB_NOINSTR void panic(const char *fmt, ...) { call_start("panic"); put_literal(fmt); put(")"); longjmp(task_end, 2); }
FRED_STUB_NOINSTR bool ia32_enabled(void) { return rt_ia32_enabled; }
FRED_STUB_NOINSTR int external_interrupt(struct pt_regs *r, unsigned int v) { (void)r; fred_recf("external_interrupt", "regs, 0x%lx", v); return 0; }
FRED_STUB_NOINSTR void common_interrupt(struct pt_regs *r, unsigned long v) { (void)r; fred_recf("common_interrupt", "regs, 0x%lx", v); }
FRED_STUB_NOINSTR void spurious_interrupt(struct pt_regs *r, unsigned long v) { (void)r; fred_recf("spurious_interrupt", "regs, 0x%lx", v); }
FRED_STUB_NOINSTR void do_syscall_64(struct pt_regs *r, int nr) { (void)r; char b[64]; snprintf(b, sizeof b, "regs, %d", nr); fred_rec("do_syscall_64", b); }

/* Functions of the dispatch file itself (compiled with -finstrument-functions) record "@address"; the host names them. */
FRED_STUB_NOINSTR void __cyg_profile_func_enter(void *fn, void *site)
{ (void)site; if (!recording) return; char b[40]; snprintf(b, sizeof b, "@%lx", (unsigned long)fn); call_start(b); put("*)"); }
FRED_STUB_NOINSTR void __cyg_profile_func_exit(void *fn, void *site) { (void)fn; (void)site; }

void fred_entry_from_user(struct pt_regs *regs);
void fred_entry_from_kernel(struct pt_regs *regs);
void fred_complete_exception_setup(void) __attribute__((weak));

/* Output goes through our own buffer so that a crash handler can still write what is done, then say where it stopped. */
static char out[1 << 20];
static size_t out_len;
static volatile long current_input = -1;
static FRED_STUB_NOINSTR void out_flush(void)
{
    size_t done = 0;
    while (done < out_len) { ssize_t n = write(1, out + done, out_len - done); if (n <= 0) break; done += (size_t)n; }
    out_len = 0;
}
static FRED_STUB_NOINSTR void out_line(const char *s)
{
    size_t n = strlen(s);
    if (out_len + n + 1 > sizeof out) out_flush();
    memcpy(out + out_len, s, n); out_len += n; out[out_len++] = '\n';
}
static FRED_STUB_NOINSTR void on_signal(int sig)
{
    char b[96];
    out_flush();
    int n = snprintf(b, sizeof b, "!signal %d at input %ld\n", sig, current_input);
    if (n > 0) { ssize_t w = write(1, b, (size_t)n); (void)w; }
    _exit(128 + sig);
}

/* argv[1]: seconds one input may take. Input lines: user type vector sl l insnlen error ip ax edata ia32_enabled
   die_stops (hex). Output: one line each, fate|trace|orig_ax ip ax type vector; "!signal N at input K" when the
   dispatch crashed (N = SIGALRM: it hung). */
FRED_STUB_NOINSTR int main(int argc, char **argv)
{
    unsigned seconds = argc > 1 ? (unsigned)atoi(argv[1]) : 10;
    int signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGALRM, SIGTRAP };
    for (size_t k = 0; k < sizeof signals / sizeof signals[0]; k++) signal(signals[k], on_signal);
    if (fred_complete_exception_setup) fred_complete_exception_setup();
    static char line[512];
    static char result[sizeof trace + 256];
    while (fgets(line, sizeof line, stdin))
    {
        unsigned long user, type, vector, sl, l, insnlen, err, ip, ax, edata, ia32, stops;
        current_input++;
        if (sscanf(line, "%lx %lx %lx %lx %lx %lx %lx %lx %lx %lx %lx %lx", &user, &type, &vector, &sl, &l, &insnlen,
                   &err, &ip, &ax, &edata, &ia32, &stops) != 12) { out_line("!bad input line"); out_flush(); return 2; }
        static struct fred_info info;
        memset(&info, 0, sizeof info);
        struct pt_regs *r = &info.regs;
        r->ax = ax; r->orig_ax = err; r->ip = ip; r->flags = 0x202; r->sp = 0x7fff0000;
        r->csx = (user ? 0x33UL : 0x10UL) | (sl << 16);
        r->ssx = (user ? 0x2bUL : 0x18UL) | (vector << 32) | (type << 48) | (l << 57) | (insnlen << 60);
        info.edata = edata;
        rt_ia32_enabled = (int)ia32; rt_die_stops = (int)stops;
        trace_len = 0; trace[0] = 0; fate_oops = fate_survived = fate_warned = 0;
        alarm(seconds);
        int how = setjmp(task_end);
        if (how == 0)
        {
            recording = 1;
            if (user) fred_entry_from_user(r); else fred_entry_from_kernel(r);
        }
        recording = 0;
        alarm(0);
        const char *fate = how == 2 ? "Panic" : fate_oops ? "Oops" : fate_survived ? "Survived" : fate_warned ? "Warned" : "Handled";
        snprintf(result, sizeof result, "%s|%s|%lx %lx %lx %x %x", fate, trace, r->orig_ax, r->ip, r->ax, (unsigned)r->fred_ss.type, (unsigned)r->fred_ss.vector);
        out_line(result);
    }
    out_flush();
    return 0;
}
""";
}
