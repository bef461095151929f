using System.Globalization;
using System.Text.Json;
using EventGateway.Languages.Json;

namespace EventGateway.Workflows.Agent;

/// <summary>
/// A resource template's successCondition / failureCondition: Kubernetes label-selector syntax whose keys are
/// gjson paths into the object (<c>status.phase == Active</c>, <c>status.succeeded &gt; 0</c>,
/// <c>metadata.labels.tier in (a, b)</c>, <c>!status.failed</c>, <c>data.ready</c>), requirements joined by
/// commas. As in Argo, a success condition holds when every requirement matches; a failure condition when any does.
/// </summary>
public sealed class ResourceCondition
{
    private enum Op { Exists, DoesNotExist, Equals, NotEquals, In, NotIn, GreaterThan, LessThan }

    private sealed record Requirement(string Key, Op Op, IReadOnlyList<string> Values, string Text);

    private readonly IReadOnlyList<Requirement> _requirements;

    private ResourceCondition(string text, IReadOnlyList<Requirement> requirements) => (Text, _requirements) = (text, requirements);

    public string Text { get; }

    /// <summary>Parses a condition; a FormatException says what is wrong and where.</summary>
    public static ResourceCondition Parse(string text)
    {
        var (tokens, spans) = Lex(text);
        var requirements = new List<Requirement>();
        var i = 0;
        string Next(string expected) => i < tokens.Count ? tokens[i++] : throw new FormatException($"'{text}': expected {expected} at the end");
        while (true)
        {
            var start = i;
            var not = i < tokens.Count && tokens[i] == "!";
            if (not) i++;
            var key = Next("a field path");
            if (!IsWord(key)) throw new FormatException($"'{text}': expected a field path, found '{key}'");
            Requirement req;
            if (not || i == tokens.Count || tokens[i] == ",")
                req = new Requirement(key, not ? Op.DoesNotExist : Op.Exists, [], "");
            else
            {
                var op = Next("an operator");
                switch (op)
                {
                    case "=" or "==" or "!=":
                        var value = i < tokens.Count && IsWord(tokens[i]) ? tokens[i++] : ""; // an empty value is allowed
                        req = new Requirement(key, op == "!=" ? Op.NotEquals : Op.Equals, [value], "");
                        break;
                    case ">" or "<":
                        var number = Next("an integer");
                        if (!long.TryParse(number, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _))
                            throw new FormatException($"'{text}': {key} {op} needs an integer, not '{number}'");
                        req = new Requirement(key, op == ">" ? Op.GreaterThan : Op.LessThan, [number], "");
                        break;
                    case "in" or "notin":
                        if (Next("'('") != "(") throw new FormatException($"'{text}': expected '(' after {op}");
                        var values = new List<string>();
                        while (true)
                        {
                            var v = Next("a value or ')'");
                            if (v == ")" && values.Count == 0) break;
                            if (!IsWord(v)) throw new FormatException($"'{text}': expected a value in {op} (...), found '{v}'");
                            values.Add(v);
                            var sep = Next("',' or ')'");
                            if (sep == ")") break;
                            if (sep != ",") throw new FormatException($"'{text}': expected ',' or ')' in {op} (...), found '{sep}'");
                        }
                        req = new Requirement(key, op == "in" ? Op.In : Op.NotIn, values, "");
                        break;
                    default:
                        throw new FormatException($"'{text}': '{op}' is not an operator (=, ==, !=, >, <, in, notin)");
                }
            }
            requirements.Add(req with { Text = text[spans[start].Start..spans[i - 1].End] });
            if (i == tokens.Count) break;
            if (tokens[i++] != ",") throw new FormatException($"'{text}': expected ',' between requirements, found '{tokens[i - 1]}'");
        }
        return new ResourceCondition(text, requirements);
    }

    /// <summary>Every requirement holds (a success condition).</summary>
    public bool All(JsonElement obj) => _requirements.All(r => Matches(r, obj));

    /// <summary>The first requirement that holds (a failure condition), or null.</summary>
    public string? FirstMatching(JsonElement obj) => _requirements.FirstOrDefault(r => Matches(r, obj))?.Text;

    private static bool Matches(Requirement r, JsonElement obj)
    {
        var found = GJson.Get(obj, r.Key);
        var value = found is { } f ? GJson.ToGoString(f) : null;
        return r.Op switch
        {
            Op.Exists => value is not null,
            Op.DoesNotExist => value is null,
            Op.Equals or Op.In => value is not null && r.Values.Contains(value),
            Op.NotEquals or Op.NotIn => value is null || !r.Values.Contains(value),
            _ => value is not null && long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                 && (r.Op == Op.GreaterThan ? n > long.Parse(r.Values[0], CultureInfo.InvariantCulture) : n < long.Parse(r.Values[0], CultureInfo.InvariantCulture)),
        };
    }

    private static bool IsWord(string token) => token.Length > 0 && !IsSpecial(token[0]) && token is not ("in" or "notin");

    private static bool IsSpecial(char c) => c is ',' or '=' or '!' or '(' or ')' or '<' or '>';

    private static (List<string> Tokens, List<(int Start, int End)> Spans) Lex(string text)
    {
        var tokens = new List<string>();
        var spans = new List<(int, int)>();
        for (var i = 0; i < text.Length;)
        {
            var c = text[i];
            var start = i;
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c is '=' or '!' && i + 1 < text.Length && text[i + 1] == '=') i += 2;
            else if (IsSpecial(c)) i++;
            else while (i < text.Length && !char.IsWhiteSpace(text[i]) && !IsSpecial(text[i])) i++;
            tokens.Add(text[start..i]);
            spans.Add((start, i));
        }
        if (tokens.Count == 0) throw new FormatException("a condition must not be empty");
        return (tokens, spans);
    }
}
