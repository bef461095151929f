using System.Text;
using System.Text.RegularExpressions;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.Jq;

internal static partial class JqBuiltins
{
    // jq's regexes are Oniguruma; .NET's are close for what filters use. Timeouts guard against runaway backtracking.
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromSeconds(1);

    private static readonly BoundedCache<Regex> Regexes = new(512);

    private static void AddStrings(Dictionary<string, JqBuiltin> t)
    {
        Fn0(t, "utf8bytelength", (v, _) => v is string s
            ? (double)Encoding.UTF8.GetByteCount(s)
            : throw new JqError($"{JqValues.Describe(v)} only strings have UTF-8 byte length"));
        Fn0(t, "ascii_downcase", (v, _) => AsciiCase(v, "ascii_downcase", upper: false));
        Fn0(t, "ascii_upcase", (v, _) => AsciiCase(v, "ascii_upcase", upper: true));
        Fn1(t, "startswith", (v, p, _) => v is string s && p is string prefix
            ? s.StartsWith(prefix, StringComparison.Ordinal)
            : throw new JqError("startswith() requires string inputs"));
        Fn1(t, "endswith", (v, p, _) => v is string s && p is string suffix
            ? s.EndsWith(suffix, StringComparison.Ordinal)
            : throw new JqError("endswith() requires string inputs"));
        Fn1(t, "ltrimstr", (v, p, _) => v is string s && p is string prefix && s.StartsWith(prefix, StringComparison.Ordinal) ? s[prefix.Length..] : v);
        Fn1(t, "rtrimstr", (v, p, _) => v is string s && p is string suffix && s.EndsWith(suffix, StringComparison.Ordinal) && suffix.Length > 0
            ? s[..^suffix.Length]
            : v);
        Fn0(t, "trim", (v, _) => (v as string ?? throw new JqError($"{JqValues.Describe(v)} trim input must be a string")).Trim());
        Fn0(t, "ltrim", (v, _) => (v as string ?? throw new JqError($"{JqValues.Describe(v)} trim input must be a string")).TrimStart());
        Fn0(t, "rtrim", (v, _) => (v as string ?? throw new JqError($"{JqValues.Describe(v)} trim input must be a string")).TrimEnd());
        Fn1(t, "split", (v, sep, env) => v is string s && sep is string separator
            ? JqOps.Split(s, separator, env.Run)
            : throw new JqError("split input and separator must be strings"));
        Fn1(t, "join", (v, sep, env) => Join(v, sep, env));
        Fn0(t, "explode", (v, _) => v is string s
            ? JqOps.Runes(s).Select(r => (object?)(double)r.Value).ToArray()
            : throw new JqError($"{JqValues.Describe(v)} cannot be exploded, only a string can"));
        Fn0(t, "implode", (v, _) => Implode(v));
        Fn0(t, "ascii", (v, _) => v is double d && d is >= 0 and < 128 ? ((char)(int)d).ToString() : throw new JqError($"{JqValues.Describe(v)} is not an ASCII code"));
    }

    private static string AsciiCase(object? v, string what, bool upper)
    {
        if (v is not string s)
        {
            throw new JqError($"{what} input must be a string");
        }

        var chars = s.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (upper && chars[i] is >= 'a' and <= 'z')
            {
                chars[i] = (char)(chars[i] - 32);
            }
            else if (!upper && chars[i] is >= 'A' and <= 'Z')
            {
                chars[i] = (char)(chars[i] + 32);
            }
        }

        return new string(chars);
    }

    private static object? Join(object? v, object? sep, JqEnv env)
    {
        var sb = new StringBuilder();
        var first = true;
        foreach (var x in Elements(v, "join"))
        {
            if (!first)
            {
                sb.Append(sep as string ?? throw new JqError($"{JqValues.Describe(sep)} cannot be used to join, only a string can"));
            }

            first = false;
            sb.Append(x switch
            {
                null => string.Empty,
                string s => s,
                bool or double => JqValues.ToJson(x),
                _ => throw new JqError($"Cannot join with {JqValues.TypeName(x)}"),
            });
            env.Run.Tick();
        }

        env.Run.Tick(sb.Length);
        return sb.ToString();
    }

    private static object? Implode(object? v)
    {
        if (v is not object?[] codes)
        {
            throw new JqError("Implode input must be an array");
        }

        var sb = new StringBuilder();
        foreach (var c in codes)
        {
            if (c is not double d || !Rune.IsValid((int)d))
            {
                throw new JqError($"Implode input must be an array of valid code points, found {JqValues.Describe(c)}");
            }

            sb.Append(new Rune((int)d).ToString());
        }

        return sb.ToString();
    }

    /// <summary>UTF-16 index → code point index (jq reports offsets in code points); identity without surrogates.</summary>
    private sealed class CodepointMap
    {
        private readonly int[]? map;

        public CodepointMap(string s)
        {
            if (!s.Any(char.IsSurrogate))
            {
                return;
            }

            map = new int[s.Length + 1];
            for (int i = 0, cp = 0; i <= s.Length; i++)
            {
                map[i] = cp;
                if (i < s.Length && !char.IsHighSurrogate(s[i]))
                {
                    cp++;
                }
            }
        }

        public int this[int utf16Index] => map?[utf16Index] ?? utf16Index;
    }

    private static void AddRegex(Dictionary<string, JqBuiltin> t)
    {
        Fn1(t, "test", (v, re, _) => Matches(v, re, null, forceGlobal: false).Any());
        Fn2(t, "test", (v, re, flags, _) => Matches(v, re, flags, forceGlobal: false).Any());
        Gen(t, "match", 1, (v, a, env) => a[0].Values(v, env).SelectMany(re => MatchObjects(v, re, null)));
        Gen(t, "match", 2, (v, a, env) => Regex2(v, a, env, (re, flags) => MatchObjects(v, re, flags)));
        Gen(t, "capture", 1, (v, a, env) => a[0].Values(v, env).SelectMany(re => Matches(v, re, null, false).Select(m => (object?)Captures(m.Match, m.Regex))));
        Gen(t, "capture", 2, (v, a, env) => Regex2(v, a, env, (re, flags) => Matches(v, re, flags, false).Select(m => (object?)Captures(m.Match, m.Regex))));
        Gen(t, "scan", 1, (v, a, env) => a[0].Values(v, env).SelectMany(re => Matches(v, re, null, true).Select(Scanned)));
        Gen(t, "scan", 2, (v, a, env) => Regex2(v, a, env, (re, flags) => Matches(v, re, flags, true).Select(Scanned)));
        Gen(t, "split", 2, (v, a, env) => Regex2(v, a, env, (re, flags) => [SplitRegex(v, re, flags)]));
        Gen(t, "splits", 1, (v, a, env) => a[0].Values(v, env).SelectMany(re => SplitRegex(v, re, null)));
        Gen(t, "splits", 2, (v, a, env) => Regex2(v, a, env, (re, flags) => SplitRegex(v, re, flags)));
        Gen(t, "sub", 2, (v, a, env) => a[0].Values(v, env).SelectMany(re => Substitute(v, re, a[1], null, false, env)));
        Gen(t, "sub", 3, (v, a, env) => Regex2(v, [a[0], a[2]], env, (re, flags) => Substitute(v, re, a[1], flags, false, env)));
        Gen(t, "gsub", 2, (v, a, env) => a[0].Values(v, env).SelectMany(re => Substitute(v, re, a[1], null, true, env)));
        Gen(t, "gsub", 3, (v, a, env) => Regex2(v, [a[0], a[2]], env, (re, flags) => Substitute(v, re, a[1], flags, true, env)));
    }

    private static IEnumerable<object?> Regex2(object? v, JqNode[] a, JqEnv env, Func<object?, object?, IEnumerable<object?>> f) =>
        from re in a[0].Values(v, env)
        from flags in a[1].Values(v, env)
        from x in f(re, flags)
        select x;

    private readonly record struct RegexMatch(string Input, Match Match, Regex Regex);

    private static IEnumerable<RegexMatch> Matches(object? input, object? re, object? flags, bool forceGlobal)
    {
        if (input is not string s)
        {
            throw new JqError($"{JqValues.Describe(input)} cannot be matched, as it is not a string");
        }

        if (re is not string pattern)
        {
            throw new JqError($"{JqValues.Describe(re)} cannot be matched, as it is not a string");
        }

        if (flags is not (null or string))
        {
            throw new JqError($"{JqValues.Describe(flags)} is not a string");
        }

        var (regex, global, skipEmpty) = Compile(pattern, (string?)flags);
        global |= forceGlobal;
        return Run(s, regex, global, skipEmpty);
    }

    private static IEnumerable<RegexMatch> Run(string s, Regex regex, bool global, bool skipEmpty)
    {
        Match m;
        try
        {
            m = regex.Match(s);
        }
        catch (RegexMatchTimeoutException)
        {
            throw new TransformException($"regular expression '{regex}' timed out");
        }

        while (m.Success)
        {
            if (!(skipEmpty && m.Length == 0))
            {
                yield return new RegexMatch(s, m, regex);
                if (!global)
                {
                    yield break;
                }
            }

            try
            {
                m = m.NextMatch();
            }
            catch (RegexMatchTimeoutException)
            {
                throw new TransformException($"regular expression '{regex}' timed out");
            }
        }
    }

    private static (Regex Regex, bool Global, bool SkipEmpty) Compile(string pattern, string? flags)
    {
        var options = RegexOptions.CultureInvariant;
        bool global = false, skipEmpty = false;
        foreach (var c in flags ?? string.Empty)
        {
            switch (c)
            {
                case 'g': global = true; break;
                case 'i': options |= RegexOptions.IgnoreCase; break;
                case 'x': options |= RegexOptions.IgnorePatternWhitespace; break;
                case 'n': skipEmpty = true; break;
                case 'p': options |= RegexOptions.Singleline; break;
                case 's': case 'l': break;
                default: throw new JqError($"{flags} is not a valid modifier string");
            }
        }

        var regex = Regexes.GetOrAdd($"{(int)options}\0{pattern}", _ =>
        {
            try
            {
                var probe = new Regex(pattern, options, RegexTimeout);

                // Oniguruma (jq) does not capture plain groups once a pattern names any group.
                return probe.GetGroupNames().Any(n => !IsNumbered(n))
                    ? new Regex(pattern, options | RegexOptions.ExplicitCapture, RegexTimeout)
                    : probe;
            }
            catch (ArgumentException e)
            {
                throw new JqError($"{pattern} (at offset 0) is not a valid regex: {e.Message}");
            }
        });
        return (regex, global, skipEmpty);
    }

    private static IEnumerable<object?> MatchObjects(object? input, object? re, object? flags)
    {
        CodepointMap? codepoints = null;
        foreach (var m in Matches(input, re, flags, forceGlobal: false))
        {
            codepoints ??= new CodepointMap(m.Input);
            yield return MatchObject(m.Match, m.Regex, codepoints);
        }
    }

    private static JqObject MatchObject(Match m, Regex regex, CodepointMap codepoints)
    {
        var captures = new List<object?>();
        for (var i = 1; i < m.Groups.Count; i++)
        {
            var g = m.Groups[i];
            var name = regex.GroupNameFromNumber(i);
            captures.Add(new JqObject
            {
                ["offset"] = g.Success ? (double)codepoints[g.Index] : -1d,
                ["length"] = g.Success ? (double)JqOps.Runes(g.Value).Length : 0d,
                ["string"] = g.Success ? g.Value : null,
                ["name"] = IsNumbered(name) ? null : name,
            });
        }

        return new JqObject
        {
            ["offset"] = (double)codepoints[m.Index],
            ["length"] = (double)JqOps.Runes(m.Value).Length,
            ["string"] = m.Value,
            ["captures"] = captures.ToArray(),
        };
    }

    private static bool IsNumbered(string groupName) => groupName.All(char.IsAsciiDigit);

    private static JqObject Captures(Match m, Regex regex)
    {
        var result = new JqObject();
        for (var i = 1; i < m.Groups.Count; i++)
        {
            var name = regex.GroupNameFromNumber(i);
            if (!IsNumbered(name))
            {
                result[name] = m.Groups[i].Success ? m.Groups[i].Value : null;
            }
        }

        return result;
    }

    private static object? Scanned(RegexMatch m) => m.Match.Groups.Count > 1
        ? Enumerable.Range(1, m.Match.Groups.Count - 1).Select(i => m.Match.Groups[i].Success ? (object?)m.Match.Groups[i].Value : null).ToArray()
        : m.Match.Value;

    private static object?[] SplitRegex(object? input, object? re, object? flags)
    {
        var s = input as string ?? throw new JqError($"{JqValues.Describe(input)} cannot be matched, as it is not a string");
        var pieces = new List<object?>();
        var at = 0;
        foreach (var m in Matches(s, re, flags, forceGlobal: true))
        {
            pieces.Add(s[at..m.Match.Index]);
            at = m.Match.Index + m.Match.Length;
        }

        pieces.Add(s[at..]);
        return pieces.ToArray();
    }

    /// <summary>
    /// sub/gsub: the replacement is a filter run on the named captures of each match. One output per match is
    /// the usual case and is built in a loop; several outputs give every combination, as jq does.
    /// </summary>
    private static IEnumerable<object?> Substitute(object? input, object? re, JqNode replacement, object? flags, bool global, JqEnv env)
    {
        var s = input as string ?? throw new JqError($"{JqValues.Describe(input)} cannot be matched, as it is not a string");
        var matches = Matches(s, re, flags, forceGlobal: global).ToList();
        var replacements = new List<List<string>>(matches.Count);
        foreach (var m in matches)
        {
            env.Run.Tick();
            replacements.Add(replacement.Values(Captures(m.Match, m.Regex), env)
                .Select(r => r as string ?? throw new JqError($"{JqValues.Describe(r)} cannot be added to a string"))
                .ToList());
        }

        if (replacements.All(r => r.Count == 1))
        {
            var sb = new StringBuilder();
            var at = 0;
            for (var i = 0; i < matches.Count; i++)
            {
                sb.Append(s, at, matches[i].Match.Index - at).Append(replacements[i][0]);
                at = matches[i].Match.Index + matches[i].Match.Length;
            }

            env.Run.Tick(sb.Length);
            return [sb.Append(s, at, s.Length - at).ToString()];
        }

        return Combine(s, matches, replacements, 0, 0, string.Empty, env);
    }

    private static IEnumerable<object?> Combine(string s, List<RegexMatch> matches, List<List<string>> replacements, int i, int at, string prefix, JqEnv env)
    {
        JqValues.CheckDepth(i);
        if (i == matches.Count)
        {
            yield return prefix + s[at..];
            yield break;
        }

        var m = matches[i].Match;
        foreach (var r in replacements[i])
        {
            env.Run.Tick(prefix.Length);
            foreach (var x in Combine(s, matches, replacements, i + 1, m.Index + m.Length, prefix + s[at..m.Index] + r, env))
            {
                yield return x;
            }
        }
    }
}
