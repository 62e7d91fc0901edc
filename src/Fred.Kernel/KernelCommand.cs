using System.Globalization;
using Fred.Reference;

namespace Fred.Kernel;

/// <summary>The options of `fred-conform kernel` (FRED-KDIFF-05), as the command line gives them.</summary>
public sealed record KernelCommandOptions(
    string Source, string Profile = "rfc2022", string Config = "all", string? Declarations = null, string? JUnit = null, string? Markdown = null,
    int TimeoutSeconds = 10);

/// <summary>
/// `fred-conform kernel --source PATH [--profile rfc2022|mainline] [--config all|default|SETTINGS] [--declarations FILE]
/// [--junit FILE] [--markdown FILE]`: the command's work, apart from parsing. Exit status 0 when every input agrees,
/// 1 when some input disagrees or the C crashed or hung, 2 for bad usage or input (a message on stderr says which).
/// </summary>
public static class KernelCommand
{
    /// <summary>The settings --config takes, with what each sets.</summary>
    public const string ConfigHelp =
        "all (every configuration, the default), default, or comma-separated settings applied to the default: " +
        "ia32-emulation=y|n, ia32-enabled=y|n, mce=y|n, cet=y|n, tdx-guest=y|n, first-system-vector=0xEB|0xEC, die-notifier-stops=y|n";

    /// <summary>Runs the command; returns the exit status.</summary>
    public static int Execute(KernelCommandOptions o, TextWriter stdout, TextWriter stderr)
    {
        int Fail(string message) { stderr.WriteLine($"fred-conform kernel: {message}"); return 2; }
        Profile profile;
        switch (o.Profile.ToLowerInvariant())
        {
            case "rfc2022": profile = Profile.Rfc2022; break;
            case "mainline": profile = Profile.Mainline; break;
            default: return Fail($"--profile: expected rfc2022 or mainline, found \"{o.Profile}\"");
        }
        var (configs, configError) = ParseConfigs(o.Config);
        if (configs is null) return Fail($"--config: {configError}");
        foreach (var (option, path) in new[] { ("--junit", o.JUnit), ("--markdown", o.Markdown) })
            if (path is not null && Fred.Dut.OutputPath.Problem(path) is { } why) return Fail($"{option}: {why}");
        var (source, sourceError) = KernelSource.Load(o.Source);
        if (source is null) return Fail(sourceError!);
        Declarations? declarations = null;
        if (o.Declarations is { } dpath)
        {
            string text;
            try { text = File.ReadAllText(dpath); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { return Fail($"--declarations: {dpath}: {e.Message}"); }
            var (d, derr) = Fred.Kernel.Declarations.Parse(dpath, text);
            if (d is null) return Fail($"--declarations: {derr}");
            declarations = d;
        }
        if (KernelBuild.FindCompiler() is null) return Fail("no C compiler found: install gcc, or set CC to one");
        var started = DateTime.UtcNow;
        stdout.WriteLine($"fred-conform kernel: {o.Source}{(source.FromPatch ? $" ({KernelSource.DispatchFile} from the patch)" : "")} against {profile}, " +
                         $"{configs.Count} configuration(s), {KernelGrid.For(KernelConfig.Default).Count():N0} inputs each");
        var report = KernelDifferential.Run(source, profile, configs, declarations, timeoutPerConfig: TimeSpan.FromSeconds(o.TimeoutSeconds));
        stdout.Write(KernelReportText.Render(report));
        stdout.WriteLine($"time: {(DateTime.UtcNow - started).TotalSeconds:F1} s");
        try
        {
            if (o.JUnit is { } j) { using var w = new StreamWriter(j); KernelReportText.WriteJUnit(report, w); }
            if (o.Markdown is { } m) File.WriteAllText(m, KernelReportText.Markdown(report, o.Source));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return Fail($"could not write a report: {e.Message}"); }
        if (report.Errors.Count > 0 && report.Compared == 0 && report.Errors.All(e => e.Contains("stub kernel", StringComparison.Ordinal) || e.Contains("C compiler", StringComparison.Ordinal)))
            return 2;                                                           // nothing ran: the file did not build
        return report.Agreed ? 0 : 1;
    }

    /// <summary>The configurations --config names, or the reason it cannot be read.</summary>
    public static (IReadOnlyList<KernelConfig>? Configs, string? Error) ParseConfigs(string text)
    {
        if (text == "all") return (KernelConfig.All().ToList(), null);
        if (text == "default") return ([KernelConfig.Default], null);
        var c = KernelConfig.Default;
        foreach (var item in text.Split(',', StringSplitOptions.TrimEntries))
        {
            int eq = item.IndexOf('=');
            if (eq <= 0) return (null, $"\"{item}\" is not NAME=VALUE; {ConfigHelp}");
            string name = item[..eq].ToLowerInvariant(), value = item[(eq + 1)..].ToLowerInvariant();
            bool? yn = value switch { "y" or "yes" or "1" => true, "n" or "no" or "0" => false, _ => null };
            if (name == "first-system-vector")
            {
                if (value is not ("0xeb" or "0xec")) return (null, $"first-system-vector: expected 0xEB or 0xEC, found \"{item[(eq + 1)..]}\"");
                c = c with { FirstSystemVector = int.Parse(value[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) };
                continue;
            }
            if (yn is not { } b) return (null, $"{name}: expected y or n, found \"{item[(eq + 1)..]}\"");
            switch (name)
            {
                case "ia32-emulation": c = c with { Ia32Emulation = b, Ia32Enabled = b && c.Ia32Enabled }; break;
                case "ia32-enabled": c = c with { Ia32Enabled = b }; break;
                case "mce": c = c with { MachineCheck = b }; break;
                case "cet": c = c with { Cet = b }; break;
                case "tdx-guest": c = c with { TdxGuest = b }; break;
                case "die-notifier-stops": c = c with { DieNotifierStops = b }; break;
                default: return (null, $"unknown setting \"{name}\"; {ConfigHelp}");
            }
        }
        if (c.Ia32Enabled && !c.Ia32Emulation) return (null, "ia32-enabled=y needs ia32-emulation=y (ia32_enabled() is false without it)");
        return ([c], null);
    }
}
