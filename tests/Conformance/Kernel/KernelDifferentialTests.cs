using Fred.Kernel;
using Fred.Reference;

namespace Fred.Conformance.Kernel;

/// <summary>
/// The kernel C differential (FRED-KDIFF-*): a kernel's own entry_fred.c compiled against the stub kernel and compared
/// with the reference over the grid. The seed's file must agree with the Rfc2022 profile; a deliberately broken copy
/// must not; the failure modes of a C file (crash, hang, a service the stubs lack) are verdicts with clear words.
/// </summary>
public class KernelDifferentialTests
{
    /// <summary>
    /// The RFC patch the project started from: $FRED_SEED, else shared/seed in a folder above the checkout (../shared
    /// beside it, as the project's workplace has it, or higher up for a checkout one level deeper).
    /// </summary>
    public static string? SeedPatch()
    {
        string? env = Environment.GetEnvironmentVariable("FRED_SEED");
        if (!string.IsNullOrEmpty(env)) return File.Exists(env) ? env : null;
        for (var d = new DirectoryInfo(SpecCoverageTests.RepositoryRoot()).Parent; d is not null; d = d.Parent)
        {
            string p = Path.Combine(d.FullName, "shared", "seed", "000_613f7f03da7d5c70.txt");
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>The configurations the default test compares: the snapshot set and the die notifier that stops.</summary>
    static IEnumerable<KernelConfig> TestConfigs() =>
        Fred.Conformance.Reference.DispatchTableTests.Configurations.Select(row => (KernelConfig)row[1])
            .Append(KernelConfig.Default with { DieNotifierStops = true });

    static KernelSource Seed()
    {
        string? seed = SeedPatch();
        Skip.If(seed is null, "the seed patch is not beside the checkout (set FRED_SEED to its path)");
        Skip.If(KernelBuild.FindCompiler() is null, "no C compiler (CI installs gcc)");
        var (source, error) = KernelSource.Load(seed!);
        Assert.True(source is not null, error);
        return source!;
    }

    [SkippableFact]
    [Trait("Rule", "FRED-KDIFF-04")]
    public void The_seeds_dispatch_agrees_with_the_Rfc2022_profile_on_every_input()
    {
        var configs = TestConfigs().ToList();
        var report = KernelDifferential.Run(Seed(), Profile.Rfc2022, configs);
        Assert.Empty(report.Errors);
        Assert.Empty(report.Skipped);
        Assert.True(report.Classes.Count == 0, KernelReportText.Render(report));
        Assert.Equal(configs.Count * KernelGrid.For(KernelConfig.Default).LongCount(), report.Compared);
    }

    [SkippableFact]
    [Trait("Rule", "FRED-KDIFF-04")]
    [Trait("Rule", "FRED-KDIFF-05")]
    public void A_moved_exception_table_entry_is_found_and_shrunk()
    {
        var seed = Seed();
        const string entry = "[X86_TRAP_OF] = fred_exc_overflow,";
        Assert.Contains(entry, seed.Text);
        // #OF's handler moved to #BR's slot: the later [X86_TRAP_BR] initializer wins there, and #OF's slot is NULL.
        var broken = seed with { Text = seed.Text.Replace(entry, "[X86_TRAP_BR] = fred_exc_overflow,", StringComparison.Ordinal) };
        var report = KernelDifferential.Run(broken, Profile.Rfc2022, [KernelConfig.Default]);
        Assert.Empty(report.Errors);
        var (cls, count, smallest) = Assert.Single(report.Classes);
        Assert.Equal("reference calls irqentry_enter, C calls fred_bad_event", cls);   // #OF is instrumented: irqentry_enter first
        Assert.Equal((true, 3, 4, 0), (smallest.Input.User, smallest.Input.Type, smallest.Input.Vector, smallest.Input.StackLevel));
        Assert.True(count >= 4, $"{count}");
        string text = KernelReportText.Render(report);
        Assert.Contains("smallest input: user type 3 vector 0x04 stack level 0", text);
        Assert.Contains("KERNEL DISAGREE: 40,960 inputs compared with Rfc2022; 1 disagreeing class(es)", text);
        var junit = new StringWriter();
        KernelReportText.WriteJUnit(report, junit);
        var doc = System.Xml.Linq.XDocument.Parse(junit.ToString());
        var failure = Assert.Single(doc.Descendants("failure"));
        Assert.Contains("user type 3 vector 0x04", failure.Attribute("message")!.Value);
        Assert.Contains("fred_exc_overflow", failure.Value);
        Assert.Contains("## reference calls irqentry_enter, C calls fred_bad_event", KernelReportText.Markdown(report, "broken.c"));
    }

    const string Header = "#include <asm/traps.h>\n";

    static KernelReport RunOwn(string c, Declarations? declarations = null, TimeSpan? timeout = null)
    {
        Skip.If(KernelBuild.FindCompiler() is null, "no C compiler (CI installs gcc)");
        var (source, error) = KernelSource.Parse("fixture.c", Header + c);
        Assert.True(source is not null, error);
        return KernelDifferential.Run(source!, Profile.Mainline, [KernelConfig.Default], declarations, timeoutPerConfig: timeout);
    }

    [SkippableFact]
    [Trait("Rule", "FRED-KDIFF-03")]
    public void A_crash_in_the_C_is_a_verdict_that_names_the_input()
    {
        var report = RunOwn("""
            void fred_entry_from_user(struct pt_regs *regs) { if (regs->fred_ss.vector == 0x42) *(volatile int *)0 = 1; exc_int3(regs); }
            void fred_entry_from_kernel(struct pt_regs *regs) { exc_int3(regs); }
            """);
        string e = Assert.Single(report.Errors);
        Assert.True(e.Contains("was killed by signal 11 at input 133 of 40960: user type 0 vector 0x42", StringComparison.Ordinal), e);
    }

    [SkippableFact]
    [Trait("Rule", "FRED-KDIFF-03")]
    public void A_hang_in_the_C_is_a_verdict_after_the_timeout()
    {
        var report = RunOwn("""
            void fred_entry_from_user(struct pt_regs *regs) { while (regs->fred_ss.vector == 0x42) { } exc_int3(regs); }
            void fred_entry_from_kernel(struct pt_regs *regs) { exc_int3(regs); }
            """, timeout: TimeSpan.FromSeconds(3));
        string e = Assert.Single(report.Errors);
        Assert.True(e.Contains("hung (no answer within 3 s) at input 133 of 40960: user type 0 vector 0x42", StringComparison.Ordinal), e);
    }

    [SkippableFact]
    [Trait("Rule", "FRED-KDIFF-02")]
    public void A_service_the_stubs_lack_is_named_and_a_declarations_file_supplies_it()
    {
        const string c = """
            void fred_entry_from_user(struct pt_regs *regs) { frobnicate_event(regs); }
            void fred_entry_from_kernel(struct pt_regs *regs) { exc_int3(regs); }
            """;
        string e = Assert.Single(RunOwn(c).Errors);
        Assert.Contains("calls frobnicate_event, which the stub kernel lacks", e);
        Assert.Contains("--declarations", e);
        var (decl, err) = Declarations.Parse("decl.h", "// mine\nvoid frobnicate_event(struct pt_regs *regs);\n");
        Assert.True(decl is not null, err);
        var report = RunOwn(c, decl);
        Assert.Empty(report.Errors);
        Assert.NotEmpty(report.Classes);                          // it runs, and (of course) disagrees with mainline
        Assert.Contains(report.Classes, k => k.Smallest.Kernel.Contains("frobnicate_event", StringComparison.Ordinal));
    }

    [Theory]
    [Trait("Rule", "FRED-KDIFF-02")]
    [InlineData("void f(int x)", "decl.h:1: not a C prototype")]
    [InlineData("void f(struct pt_regs *regs);\nvoid f(struct pt_regs *regs);", "decl.h:2: f is declared twice")]
    public void Bad_declarations_say_which_line(string text, string expected)
    {
        var (decl, err) = Declarations.Parse("decl.h", text);
        Assert.Null(decl);
        Assert.StartsWith(expected, err);
    }

    [Theory]
    [Trait("Rule", "FRED-KDIFF-01")]
    [InlineData("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+int x;\n", "p: a patch, but it does not touch arch/x86/entry/entry_fred.c")]
    [InlineData("diff --git a/arch/x86/entry/entry_fred.c b/arch/x86/entry/entry_fred.c\n--- a/arch/x86/entry/entry_fred.c\n+++ b/arch/x86/entry/entry_fred.c\n@@ -10,3 +10,4 @@\n", "p:4: the patch changes")]
    [InlineData("int main(void) { return 0; }\n", "p: neither a patch")]
    public void Sources_that_are_not_a_dispatch_file_are_refused_with_the_reason(string text, string expected)
    {
        var (source, error) = KernelSource.Parse("p", text);
        Assert.Null(source);
        Assert.StartsWith(expected, error);
    }

    [Fact]
    [Trait("Rule", "FRED-KDIFF-01")]
    public void A_patch_that_creates_the_file_yields_its_added_lines()
    {
        var (source, error) = KernelSource.Parse("p", "diff --git a/arch/x86/entry/entry_fred.c b/arch/x86/entry/entry_fred.c\nnew file mode 100644\n--- /dev/null\n+++ b/arch/x86/entry/entry_fred.c\n@@ -0,0 +1,2 @@\n+void fred_entry_from_user(void);\n+int y;\n-- \n2.34.1\n");
        Assert.True(source is not null, error);
        Assert.Equal("void fred_entry_from_user(void);\nint y;\n", source!.Text);
        Assert.True(source.FromPatch);
    }
}
