namespace Fred.Conformance.Support;

/// <summary>Runs the programs shipped next to the tests (fred-conform, the DUT adapters) as a user would.</summary>
public static class ShippedPrograms
{
    /// <summary>Runs <paramref name="dll"/> through <c>dotnet</c> with no input; its exit status, standard output and standard error.</summary>
    public static (int Code, string Out, string Err) Run(string dll, params string[] args) => RunIn(null, dll, args);

    /// <summary><see cref="Run"/> in a working directory (the current one when null).</summary>
    public static (int Code, string Out, string Err) RunIn(string? directory, string dll, params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        if (directory is not null) psi.WorkingDirectory = directory;
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, dll));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.StandardInput.Close();
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(300_000), "timed out");
        return (p.ExitCode, output, err.Result);
    }

    /// <summary>fred-conform with these arguments.</summary>
    public static (int Code, string Out, string Err) FredConform(params string[] args) => Run("fred-conform.dll", args);
}
