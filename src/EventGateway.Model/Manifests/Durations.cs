using System.Globalization;

namespace EventGateway.Model.Manifests;

/// <summary>Go-style durations ("1h30m", "10s", "500ms") and bare seconds ("30"), as Argo accepts them.</summary>
public static class Durations
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim();
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var secs))
            return FromSeconds(secs, out value);
        var total = 0.0;
        var i = 0;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
            if (start == i || !double.TryParse(s[start..i], NumberStyles.Float, CultureInfo.InvariantCulture, out var n)) return false;
            var unitStart = i;
            while (i < s.Length && char.IsLetter(s[i])) i++;
            double scale = s[unitStart..i] switch
            {
                "ns" => 1e-9, "us" or "µs" => 1e-6, "ms" => 1e-3, "s" => 1, "m" => 60, "h" => 3600, "d" => 86400,
                _ => double.NaN,
            };
            if (double.IsNaN(scale)) return false;
            total += n * scale;
        }
        return FromSeconds(total, out value);
    }

    /// <summary>Refuses what a TimeSpan cannot hold (1e300, Infinity) instead of throwing.</summary>
    private static bool FromSeconds(double seconds, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (!double.IsFinite(seconds) || seconds < 0 || seconds >= TimeSpan.MaxValue.TotalSeconds) return false;
        value = TimeSpan.FromSeconds(seconds);
        return true;
    }

    public static TimeSpan Parse(string text, string what) =>
        TryParse(text, out var d) ? d : throw new FormatException($"{what}: '{text}' is not a duration like 10s, 2m or 1h");

    /// <summary>Go-style rendering: 168h0m0s becomes "168h", 90s "1m30s".</summary>
    public static string Format(TimeSpan t)
    {
        if (t == TimeSpan.Zero) return "0s";
        var sb = new System.Text.StringBuilder();
        if ((long)t.TotalHours > 0) sb.Append((long)t.TotalHours).Append('h');
        if (t.Minutes > 0) sb.Append(t.Minutes).Append('m');
        if (t.Seconds > 0 || t.Milliseconds > 0) sb.Append(t.Milliseconds > 0 ? $"{t.Seconds}.{t.Milliseconds:D3}".TrimEnd('0') : t.Seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('s');
        return sb.ToString();
    }
}
