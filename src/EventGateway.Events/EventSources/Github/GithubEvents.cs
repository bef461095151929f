using System.Reflection;
using Octokit.Webhooks;

namespace EventGateway.Events.EventSources.Github;

/// <summary>
/// GitHub's webhook event names as Octokit.Webhooks knows them (its <see cref="WebhookEventType"/> constants), so a
/// misspelt name in <c>events</c> is refused at load instead of by GitHub's 422 at hook registration.
/// </summary>
public static class GithubEvents
{
    /// <summary>Every event name, plus <c>*</c> (all events), as a hook's <c>events</c> may list them.</summary>
    public static IReadOnlySet<string> Known { get; } = typeof(WebhookEventType).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .Append("*")
        .ToHashSet(StringComparer.Ordinal);

    /// <summary>Why <paramref name="name"/> is not an event name (with the nearest known one), or null.</summary>
    public static string? Check(string name)
    {
        if (Known.Contains(name)) return null;
        var nearest = Known.MinBy(k => Distance(k, name.ToLowerInvariant()))!;
        return $"'{name}' is not a GitHub webhook event{(Distance(nearest, name.ToLowerInvariant()) <= 3 ? $" (did you mean '{nearest}'?)" : "")}; names are GitHub's, e.g. push, pull_request, release, or \"*\" for all";
    }

    /// <summary>Levenshtein distance: short names, small set; only for the hint.</summary>
    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
