using Fred.Image;

namespace Fred.Bochs;

/// <summary>Finds the Bochs binary and its ROM images.</summary>
public static class BochsSetup
{
    /// <summary>Resolves the settings, failing with a message naming what is missing.</summary>
    public static BochsSettings Resolve(string? bochs, string? bios, string? vgabios, string? cpu, string? display, bool debuggerRc,
        int timeoutMs, string? keep, Func<string, int, BochsSettings> fail)
    {
        string? binary = bochs is { Length: > 0 } ? bochs : ImageDut.FindOnPath("bochs");
        if (binary is null) return fail("no Bochs: give --bochs PATH or set FRED_BOCHS (none on PATH either)", 2);
        if (!File.Exists(binary)) return fail($"--bochs: {binary} does not exist", 2);
        binary = Path.GetFullPath(binary);
        string binDir = Path.GetDirectoryName(binary) ?? "/usr/bin";
        string prefix = Path.GetDirectoryName(binDir) ?? "/usr";
        // The ROMs that belong to this Bochs: its installation's share/bochs, or bios/ beside a binary in its build
        // tree. The system's ROMs are taken only for the system's Bochs: another build's BIOS may not match.
        bool system = prefix == "/usr";
        string[] romDirs = [Path.Combine(prefix, "share", "bochs"), Path.Combine(binDir, "bios"), .. system ? new[] { "/usr/share/bochs" } : []];
        bios ??= First([.. romDirs.Select(d => Path.Combine(d, "BIOS-bochs-latest"))]);
        vgabios ??= First([.. romDirs.SelectMany(d => new[] { Path.Combine(d, "VGABIOS-lgpl-latest"), Path.Combine(d, "VGABIOS-lgpl-latest.bin") }),
            .. system ? new[] { "/usr/share/vgabios/vgabios.bin" } : []]);
        string looked = string.Join(", ", romDirs);
        if (bios is null || !File.Exists(bios))
            return fail($"no BIOS image for {binary}: looked in {looked}{(system ? "" : " (not in /usr/share/bochs: those ROMs belong to the system's Bochs)")}; give --bios FILE", 2);
        if (vgabios is null || !File.Exists(vgabios))
            return fail($"no VGA BIOS image for {binary}: looked in {looked}{(system ? " and /usr/share/vgabios" : "")}; give --vgabios FILE", 2);
        if (display is null)
        {
            // A build with plugins and no nogui plugin (Debian's) gets the term display and the debugger's rc file.
            var plugins = new[] { Path.Combine(prefix, "lib", "bochs", "plugins"), Path.Combine(prefix, "lib", "x86_64-linux-gnu", "bochs", "plugins") }
                .FirstOrDefault(Directory.Exists);
            bool noNogui = plugins is not null && Directory.GetFiles(plugins, "libbx_nogui*").Length == 0;
            display = noNogui ? "term" : "nogui";
            debuggerRc |= noNogui;
        }
        return new BochsSettings(binary, bios, vgabios, cpu, display, debuggerRc, timeoutMs, keep);
    }

    static string? First(params string[] paths) => paths.FirstOrDefault(File.Exists);
}
