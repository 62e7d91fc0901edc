using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Fred.Bench;

/// <summary>Adds an Events/s column: every benchmark here counts one operation per event.</summary>
public class EventsPerSecondConfig : ManualConfig
{
    /// <summary>The default configuration plus the column.</summary>
    public EventsPerSecondConfig() => AddColumn(new EventsPerSecondColumn());
}

/// <summary>1e9 divided by the mean nanoseconds per operation.</summary>
public sealed class EventsPerSecondColumn : IColumn
{
    /// <inheritdoc/>
    public string Id => nameof(EventsPerSecondColumn);
    /// <inheritdoc/>
    public string ColumnName => "Events/s";
    /// <inheritdoc/>
    public bool AlwaysShow => true;
    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;
    /// <inheritdoc/>
    public int PriorityInCategory => 0;
    /// <inheritdoc/>
    public bool IsNumeric => true;
    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;
    /// <inheritdoc/>
    public string Legend => "Events per second (1 s / Mean)";
    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;
    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);
    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        summary[benchmarkCase]?.ResultStatistics is { Mean: > 0 } stats ? (1e9 / stats.Mean).ToString("N0", style.CultureInfo) : "NA";
}
