namespace Fred.Dut;

/// <summary>Turns what a user names as the DUT into a command line: <c>model</c>, <c>model ARGS</c>, <c>mutant:NAME</c>, <c>bochs</c>, <c>bochs:ARGS</c>, <c>qemu</c>, <c>qemu:ARGS</c>, or any command.</summary>
public static class DutCommand
{
    /// <summary>The command that starts the model DUT shipped next to this assembly, with extra arguments.</summary>
    public static string ModelDut(string extraArgs = "") => Shipped("fred-model-dut", "the model DUT", extraArgs);

    /// <summary>The command that starts the Bochs adapter shipped next to this assembly, with extra arguments.</summary>
    public static string BochsDut(string extraArgs = "") => Shipped("fred-bochs-dut", "the Bochs adapter", extraArgs);

    /// <summary>The command that starts the QEMU adapter shipped next to this assembly, with extra arguments.</summary>
    public static string QemuDut(string extraArgs = "") => Shipped("fred-qemu-dut", "the QEMU adapter", extraArgs);

    /// <summary>
    /// A program shipped next to this assembly, started as <c>dotnet PROGRAM.dll</c> through the .NET host that runs
    /// this process: the same command on Linux, macOS and Windows, with no need for an executable bit or an apphost
    /// built for this operating system (a dotnet tool package carries the apphost of the machine it was packed on).
    /// </summary>
    static string Shipped(string name, string what, string extraArgs)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, name + ".dll");
        if (!File.Exists(dll)) throw new DutStartException($"{what} is not installed next to this program ({dll} is missing)");
        string cmd = $"{Quote(DotnetHost())} {Quote(dll)}";
        return extraArgs.Length == 0 ? cmd : $"{cmd} {extraArgs}";
    }

    /// <summary>
    /// The dotnet host: this process when it is one (<c>dotnet fred-conform.dll</c>, <c>dotnet test</c>), else the one
    /// beside the running runtime (a tool's shim, an apphost), else <c>dotnet</c> on PATH.
    /// </summary>
    static string DotnetHost()
    {
        string exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        if (Environment.ProcessPath is { } self && Path.GetFileName(self).Equals(exe, StringComparison.OrdinalIgnoreCase)) return self;
        if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } given && File.Exists(given)) return given;
        // The runtime lives in DOTNET_ROOT/shared/Microsoft.NETCore.App/VERSION/.
        string? runtime = Path.GetDirectoryName(typeof(object).Assembly.Location);
        string? root = runtime is null ? null : Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(runtime)));
        return root is not null && File.Exists(Path.Combine(root, exe)) ? Path.Combine(root, exe) : "dotnet";
    }

    /// <summary>
    /// Resolves a DUT name: <c>model</c> (or <c>model ARGS</c>, the model DUT with its own arguments, e.g.
    /// <c>model --misbehave crash@3</c>), <c>mutant:NAME</c>, <c>bochs[:ARGS]</c>, <c>qemu[:ARGS]</c> or a command line
    /// used as it is.
    /// </summary>
    public static string Resolve(string dut)
    {
        if (dut == "model") return ModelDut();
        if (dut.StartsWith("model ", StringComparison.Ordinal) && dut.Length > "model ".Length) return ModelDut(dut["model ".Length..].Trim());
        if (dut == "bochs") return BochsDut();
        if (dut.StartsWith("bochs:", StringComparison.Ordinal)) return BochsDut(dut["bochs:".Length..]);
        if (dut == "qemu") return QemuDut();
        if (dut.StartsWith("qemu:", StringComparison.Ordinal)) return QemuDut(dut["qemu:".Length..]);
        if (dut.StartsWith("mutant:", StringComparison.Ordinal))
        {
            string name = dut["mutant:".Length..];
            if (Mutants.Find(name) is null) throw new DutStartException($"no mutant \"{name}\" (fred-conform list-mutants lists them)");
            return ModelDut($"--mutant {name}");
        }
        return dut;
    }

    static string Quote(string s) => s.Contains(' ') ? $"\"{s}\"" : s;
}
