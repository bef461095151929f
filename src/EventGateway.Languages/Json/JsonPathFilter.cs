using System.Globalization;
using System.Text.RegularExpressions;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.Json;

/// <summary>
/// A JSONPath filter, the inside of <c>[?(...)]</c>, as Argo's jsonpath library (evilmonkeyinc/jsonpath) reads
/// it: <c>@</c> (the element) and <c>$</c> (the document) paths, string, number, boolean and null literals,
/// <c>== != &lt; &lt;= &gt; &gt;=</c>, <c>=~ /regex/</c>, <c>&amp;&amp;</c>, <c>||</c>, <c>!</c> and parentheses.
/// A path alone tests that the element has it. A path an element lacks compares unequal to everything.
/// </summary>
internal sealed class JsonPathFilter
{
    private static readonly object Missing = new();
    private readonly string _text;
    private readonly string _path;
    private readonly object? _root;
    private int _pos;

    private JsonPathFilter(string text, string path, object? root) => (_text, _path, _root) = (text, path, root);

    /// <summary>The elements of each value (a list's items, a map's values in key order) for which the filter holds.</summary>
    public static List<object?> Apply(List<object?> current, string filter, object? root, string path)
    {
        var result = new List<object?>();
        foreach (var value in current)
        {
            IEnumerable<object?> elements = Values.AsList(value) is { } list ? list
                : Values.AsMap(value) is { } map ? map.Keys.Order(StringComparer.Ordinal).Select(k => map[k])
                : throw new ExprError($"jsonpath '{path}': cannot filter {Values.TypeName(value)}");
            foreach (var element in elements)
                if (new JsonPathFilter(filter, path, root).Holds(element)) result.Add(element);
        }
        return result;
    }

    private object? _element;

    private bool Holds(object? element)
    {
        _element = element;
        _pos = 0;
        var result = Or();
        Skip();
        if (_pos < _text.Length) throw Error($"unexpected '{_text[_pos..]}'");
        return Truthy(result);
    }

    private object? Or()
    {
        var left = And();
        while (Eat("||"))
        {
            var right = And();
            left = Truthy(left) || Truthy(right);
        }
        return left;
    }

    private object? And()
    {
        var left = Unary();
        while (Eat("&&"))
        {
            var right = Unary();
            left = Truthy(left) && Truthy(right);
        }
        return left;
    }

    private object? Unary()
    {
        Skip();
        if (Peek('!') && !PeekAt(1, '=')) { _pos++; return !Truthy(Unary()); }
        return Comparison();
    }

    private object? Comparison()
    {
        var left = Operand();
        Skip();
        foreach (var op in (string[])["==", "!=", "<=", ">=", "=~", "<", ">"])
        {
            if (!Eat(op)) continue;
            if (op == "=~") return Matches(left, RegexLiteral());
            var right = Operand();
            if (ReferenceEquals(left, Missing) || ReferenceEquals(right, Missing)) return op == "!=";
            return op switch
            {
                "==" => Values.DeepEqual(left, right),
                "!=" => !Values.DeepEqual(left, right),
                _ => Ordered(left, right, op),
            };
        }
        return left;
    }

    private static bool Ordered(object? left, object? right, string op)
    {
        var comparable = (Values.IsNumber(left) && Values.IsNumber(right)) || (left is string && right is string);
        if (!comparable) return false;
        var c = Operators.Compare(left, right, op);
        return op switch { "<" => c < 0, "<=" => c <= 0, ">" => c > 0, _ => c >= 0 };
    }

    private static bool Matches(object? value, Regex regex) => value is string s && regex.IsMatch(s);

    private Regex RegexLiteral()
    {
        Skip();
        if (!Peek('/')) throw Error("=~ expects a /regular expression/");
        var end = _text.IndexOf('/', _pos + 1);
        if (end < 0) throw Error("unterminated regular expression");
        var pattern = _text[(_pos + 1)..end];
        _pos = end + 1;
        var flags = RegexOptions.CultureInvariant;
        if (Peek('i')) { flags |= RegexOptions.IgnoreCase; _pos++; }
        try { return new Regex(pattern, flags, TimeSpan.FromSeconds(1)); }
        catch (ArgumentException e) { throw Error($"invalid regular expression '{pattern}': {e.Message}"); }
    }

    private object? Operand()
    {
        Skip();
        if (_pos >= _text.Length) throw Error("missing operand");
        var c = _text[_pos];
        if (c == '(')
        {
            _pos++;
            var inner = Or();
            Skip();
            if (!Eat(")")) throw Error("missing ')'");
            return inner;
        }
        if (c is '@' or '$') return PathValue(c == '@' ? _element : _root);
        if (c is '\'' or '"')
        {
            var end = _text.IndexOf(c, _pos + 1);
            if (end < 0) throw Error("unterminated string");
            var s = _text[(_pos + 1)..end];
            _pos = end + 1;
            return s;
        }
        var start = _pos;
        while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] is '.' or '-' or '+' or '_')) _pos++;
        var word = _text[start.._pos];
        return word switch
        {
            "true" => true,
            "false" => false,
            "null" => null,
            _ when long.TryParse(word, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => l,
            _ when double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
            _ => throw Error(word.Length == 0 ? $"unexpected '{c}'" : $"unknown value '{word}'"),
        };
    }

    /// <summary>Reads a path after @ or $ and evaluates it against <paramref name="origin"/>; a path that does not fit is Missing.</summary>
    private object? PathValue(object? origin)
    {
        var start = ++_pos;
        while (_pos < _text.Length)
        {
            var c = _text[_pos];
            if (c == '[')
            {
                char? quote = null;
                for (_pos++; _pos < _text.Length; _pos++)
                {
                    if (quote is { } q) { if (_text[_pos] == q) quote = null; }
                    else if (_text[_pos] is '\'' or '"') quote = _text[_pos];
                    else if (_text[_pos] == ']') break;
                }
                _pos++;
            }
            else if (char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '*') _pos++;
            else break;
        }
        try { return JsonPath.Evaluate(origin, "$" + _text[start.._pos]); }
        catch (ExprError) { return Missing; }
    }

    private static bool Truthy(object? value) => value switch
    {
        bool b => b,
        null => false,
        _ => !ReferenceEquals(value, Missing),
    };

    private void Skip()
    {
        while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos])) _pos++;
    }

    private bool Peek(char c) => _pos < _text.Length && _text[_pos] == c;

    private bool PeekAt(int offset, char c) => _pos + offset < _text.Length && _text[_pos + offset] == c;

    private bool Eat(string token)
    {
        Skip();
        if (string.CompareOrdinal(_text, _pos, token, 0, token.Length) != 0) return false;
        _pos += token.Length;
        return true;
    }

    private ExprError Error(string reason) => new($"jsonpath '{_path}': filter '?({_text})': {reason} at {_pos}");
}
