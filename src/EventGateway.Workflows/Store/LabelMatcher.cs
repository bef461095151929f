using System.Text.RegularExpressions;
using EventGateway.Model;

namespace EventGateway.Workflows.Store;

/// <summary>
/// A Kubernetes label selector, from its string form (<c>app=a,tier!=b,env in (x,y),!legacy</c>, as in
/// <c>listOptions.labelSelector</c>) or a typed <see cref="LabelSelector"/> (podGC.labelSelector). All requirements must hold.
/// </summary>
public sealed partial class LabelMatcher
{
    private enum Op { In, NotIn, Exists, DoesNotExist }

    private sealed record Requirement(string Key, Op Op, IReadOnlySet<string> Values);

    private readonly List<Requirement> _requirements;

    private LabelMatcher(List<Requirement> requirements) => _requirements = requirements;

    public static LabelMatcher Everything { get; } = new([]);

    /// <exception cref="FormatException">a term is not a requirement; the message names it.</exception>
    public static LabelMatcher Parse(string? text)
    {
        var requirements = new List<Requirement>();
        foreach (var raw in SplitTerms(text ?? ""))
        {
            var term = raw.Trim();
            if (term.Length == 0) continue;
            Requirement r;
            if (SetTerm().Match(term) is { Success: true } m)
                r = new(m.Groups[1].Value, m.Groups[2].Value == "in" ? Op.In : Op.NotIn,
                    m.Groups[3].Value.Split(',').Select(v => v.Trim()).Where(v => v.Length > 0).ToHashSet(StringComparer.Ordinal));
            else if (term.StartsWith('!')) r = new(term[1..].Trim(), Op.DoesNotExist, Empty);
            else if (term.IndexOf("!=", StringComparison.Ordinal) is var ne and > 0) r = new(term[..ne].Trim(), Op.NotIn, One(term[(ne + 2)..]));
            else if (term.IndexOf('=') is var eq and > 0) r = new(term[..eq].Trim(), Op.In, One(term[(eq + 1)..].TrimStart('=')));
            else r = new(term, Op.Exists, Empty);
            if (!LabelKey().IsMatch(r.Key)) throw new FormatException($"label selector term '{term}': '{r.Key}' is not a label key");
            requirements.Add(r);
        }
        return new LabelMatcher(requirements);
    }

    /// <exception cref="FormatException">an expression's operator or values do not fit.</exception>
    public static LabelMatcher From(LabelSelector selector)
    {
        var requirements = (selector.MatchLabels ?? []).Select(kv => new Requirement(kv.Key, Op.In, One(kv.Value))).ToList();
        foreach (var (e, i) in (selector.MatchExpressions ?? []).Select((e, i) => (e, i)))
        {
            var op = e.Operator switch
            {
                "In" => Op.In,
                "NotIn" => Op.NotIn,
                "Exists" => Op.Exists,
                "DoesNotExist" => Op.DoesNotExist,
                _ => throw new FormatException($"matchExpressions[{i}].operator: '{e.Operator}' is not one of In, NotIn, Exists, DoesNotExist"),
            };
            if (string.IsNullOrEmpty(e.Key)) throw new FormatException($"matchExpressions[{i}].key: missing");
            var values = (e.Values ?? []).ToHashSet(StringComparer.Ordinal);
            if (op is Op.In or Op.NotIn && values.Count == 0) throw new FormatException($"matchExpressions[{i}].values: {e.Operator} needs at least one value");
            if (op is Op.Exists or Op.DoesNotExist && values.Count > 0) throw new FormatException($"matchExpressions[{i}].values: {e.Operator} takes no values");
            requirements.Add(new(e.Key, op, values));
        }
        return new LabelMatcher(requirements);
    }

    /// <summary>No requirement: every object matches, so its labels need not be gathered.</summary>
    public bool MatchesEverything => _requirements.Count == 0;

    public bool Matches(IReadOnlyDictionary<string, string>? labels) => _requirements.All(r =>
    {
        string? value = null;
        var has = labels?.TryGetValue(r.Key, out value) == true;
        return r.Op switch
        {
            Op.In => has && r.Values.Contains(value!),
            Op.NotIn => !has || !r.Values.Contains(value!),
            Op.Exists => has,
            _ => !has,
        };
    });

    private static readonly IReadOnlySet<string> Empty = new HashSet<string>();

    private static HashSet<string> One(string value) => new([value.Trim()], StringComparer.Ordinal);

    /// <summary>Commas separate terms, except inside a set's parentheses.</summary>
    private static IEnumerable<string> SplitTerms(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '(') depth++;
            else if (text[i] == ')') depth--;
            else if (text[i] == ',' && depth == 0)
            {
                yield return text[start..i];
                start = i + 1;
            }
        }
        yield return text[start..];
    }

    [GeneratedRegex(@"^([^\s!=()]+)\s+(in|notin)\s*\(([^()]*)\)$")]
    private static partial Regex SetTerm();

    [GeneratedRegex(@"^([A-Za-z0-9][-A-Za-z0-9_.]*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]
    private static partial Regex LabelKey();
}
