using System.Globalization;
using EventGateway.Model;

namespace EventGateway.Workflows.Validation;

/// <summary>
/// Argo's withSequence arithmetic: <c>count</c> items from <c>start</c>, or <c>start</c>..<c>end</c> inclusive, descending
/// when end is below start. Measured in 128-bit integers, so no start, end or count wraps around, and the length is
/// known (and checked against the cap) before a single item exists.
/// </summary>
public readonly record struct LoopSequence(long Start, long Length, int Step)
{
    /// <summary>The sequence of already rendered fields, or why there is none.</summary>
    public static (LoopSequence? Sequence, string? Error) Measure(string? start, string? count, string? end)
    {
        if (!TryLong(start ?? "0", out var from)) return (null, $"start: '{start}' is not an integer");
        if (count is not null)
        {
            if (!TryLong(count, out var n)) return (null, $"count: '{count}' is not an integer");
            if (n < 0) return (null, $"count: {n} is negative");
            if ((Int128)from + n - 1 > long.MaxValue) return (null, $"start {from} plus count {n} is past the largest integer");
            return (new LoopSequence(from, n, 1), null);
        }
        if (!TryLong(end ?? "0", out var to)) return (null, $"end: '{end}' is not an integer");
        var length = Int128.Abs((Int128)to - from) + 1;
        return (new LoopSequence(from, length > long.MaxValue ? long.MaxValue : (long)length, to >= from ? 1 : -1), null);
    }

    /// <summary>As <see cref="Measure(string?, string?, string?)"/> for literal fields; null when any is templated.</summary>
    public static (LoopSequence? Sequence, string? Error)? MeasureLiteral(Sequence seq) =>
        new[] { seq.Start, seq.Count, seq.End }.Any(v => v?.Contains("{{", StringComparison.Ordinal) == true) ? null : Measure(seq.Start, seq.Count, seq.End);

    /// <summary>The i-th value (0 ≤ i &lt; Length).</summary>
    public long this[long i] => Start + Step * i;

    private static bool TryLong(string s, out long v) => long.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out v);
}
