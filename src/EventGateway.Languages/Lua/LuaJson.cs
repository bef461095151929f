using System.Buffers;
using System.Text.Json;
using static EventGateway.Languages.Lua.LuaNative;
using EventGateway.Languages.Jq;
using EventGateway.Languages.Json;

namespace EventGateway.Languages.Lua;

/// <summary>
/// JSON ⇄ Lua values. JSON objects become tables with string keys, arrays 1-based sequences marked with the
/// <c>__is_array</c> metatable (so an array stays an array even when emptied), integers Lua integers, other
/// numbers floats, null nil (a null array element leaves a hole). Back: a table whose keys are the integers
/// 1..n (holes allowed up to half) is an array; an empty table is <c>{}</c> unless marked with
/// <c>setmetatable(t, {__is_array = true})</c> as in Argo; any other table is an object with its keys as
/// strings, in sorted order. Functions, coroutines and cycles cannot be converted and fail with their path.
/// </summary>
internal static unsafe class LuaJson
{
    public static void Push(nint l, JsonElement e, int depth)
    {
        JqValues.CheckDepth(depth);
        if (lua_checkstack(l, 4) == 0)
        {
            throw new TransformException("event data is nested too deeply for Lua");
        }

        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                lua_createtable(l, 0, 4);
                foreach (var p in e.EnumerateObject())
                {
                    if (p.Value.ValueKind == JsonValueKind.Null)
                    {
                        continue;
                    }

                    PushString(l, p.Name);
                    Push(l, p.Value, depth + 1);
                    lua_rawset(l, -3);
                }

                break;
            case JsonValueKind.Array:
                lua_createtable(l, e.GetArrayLength(), 0);
                var i = 0L;
                foreach (var x in e.EnumerateArray())
                {
                    i++;
                    if (x.ValueKind != JsonValueKind.Null)
                    {
                        Push(l, x, depth + 1);
                        lua_rawseti(l, -2, i);
                    }
                }

                lua_getfield(l, RegistryIndex, LuaSandbox.ArrayMarker);
                lua_setmetatable(l, -2);
                break;
            case JsonValueKind.String:
                PushString(l, e.GetString()!);
                break;
            case JsonValueKind.Number:
                if (e.TryGetInt64(out var integer))
                {
                    lua_pushinteger(l, integer);
                }
                else
                {
                    lua_pushnumber(l, e.TryGetDouble(out var d) ? d : double.Parse(e.GetRawText(), System.Globalization.CultureInfo.InvariantCulture));
                }

                break;
            case JsonValueKind.True:
            case JsonValueKind.False:
                lua_pushboolean(l, e.ValueKind == JsonValueKind.True ? 1 : 0);
                break;
            default:
                // Argo decodes the data into a map: a JSON null at the top becomes an empty table.
                if (depth == 0)
                {
                    lua_createtable(l, 0, 0);
                }
                else
                {
                    lua_pushnil(l);
                }

                break;
        }
    }

    /// <summary>The Lua value at <paramref name="index"/> as JSON bytes; <paramref name="root"/> names it in errors.</summary>
    public static byte[] ToJson(nint l, int index, string root)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            new Reader(l, root).Write(w, index < 0 ? lua_gettop(l) + index + 1 : index);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private sealed class Reader(nint l, string root)
    {
        private readonly List<string> path = [];
        private readonly HashSet<nint> open = [];

        public void Write(Utf8JsonWriter w, int index)
        {
            var type = lua_type(l, index);
            switch (type)
            {
                case TypeNil:
                    w.WriteNullValue();
                    break;
                case TypeBoolean:
                    w.WriteBooleanValue(lua_toboolean(l, index) != 0);
                    break;
                case TypeNumber:
                    if (lua_isinteger(l, index) != 0)
                    {
                        w.WriteNumberValue(lua_tointegerx(l, index, null));
                    }
                    else
                    {
                        var d = lua_tonumberx(l, index, null);
                        if (!double.IsFinite(d))
                        {
                            throw Fail($"the number {d} cannot be represented in JSON");
                        }

                        w.WriteRawValue(JsonText.Number(d), skipInputValidation: true);
                    }

                    break;
                case TypeString:
                    w.WriteStringValue(ReadString(l, index));
                    break;
                case TypeTable:
                    WriteTable(w, index);
                    break;
                default:
                    throw Fail($"a {TypeName(type)} cannot be converted to JSON");
            }
        }

        private void WriteTable(Utf8JsonWriter w, int index)
        {
            var id = lua_topointer(l, index);
            if (!open.Add(id))
            {
                throw Fail("the table contains itself (a cycle cannot be converted to JSON)");
            }

            JqValues.CheckDepth(path.Count);
            if (lua_checkstack(l, 4) == 0)
            {
                throw Fail("the table is nested too deeply");
            }

            var keys = new List<Key>();
            long count = 0, maxIndex = 0;
            var onlyIndexes = true;
            lua_pushnil(l);
            while (lua_next(l, index) != 0)
            {
                Pop(l, 1);
                count++;
                var key = ReadKey();
                keys.Add(key);
                if (key.Integer is long n && n > 0)
                {
                    maxIndex = Math.Max(maxIndex, n);
                }
                else
                {
                    onlyIndexes = false;
                }
            }

            var marked = IsMarkedArray(index);
            if (count == 0 ? marked : onlyIndexes && maxIndex <= 2 * count)
            {
                w.WriteStartArray();
                for (var i = 1L; i <= maxIndex; i++)
                {
                    path.Add($"[{i}]");
                    lua_rawgeti(l, index, i);
                    Write(w, lua_gettop(l));
                    Pop(l, 1);
                    path.RemoveAt(path.Count - 1);
                }

                w.WriteEndArray();
            }
            else
            {
                keys.Sort((a, b) => string.CompareOrdinal(a.Text, b.Text));
                w.WriteStartObject();
                for (var i = 0; i < keys.Count; i++)
                {
                    if (i > 0 && keys[i].Text == keys[i - 1].Text)
                    {
                        throw Fail($"two keys both become \"{keys[i].Text}\" in JSON");
                    }

                    w.WritePropertyName(keys[i].Text);
                    path.Add(IsIdentifier(keys[i].Text) ? "." + keys[i].Text : $"[\"{keys[i].Text}\"]");
                    keys[i].Push(l);
                    lua_rawget(l, index);
                    Write(w, lua_gettop(l));
                    Pop(l, 1);
                    path.RemoveAt(path.Count - 1);
                }

                w.WriteEndObject();
            }

            open.Remove(id);
        }

        // lua_next leaves the key at the top; reading it must not convert it in place (that would break lua_next).
        private Key ReadKey()
        {
            var type = lua_type(l, -1);
            switch (type)
            {
                case TypeString:
                    return new Key(ReadString(l, -1), null, null, null);
                case TypeNumber when lua_isinteger(l, -1) != 0:
                    var n = lua_tointegerx(l, -1, null);
                    return new Key(n.ToString(System.Globalization.CultureInfo.InvariantCulture), n, null, null);
                case TypeNumber:
                    var d = lua_tonumberx(l, -1, null);
                    return new Key(JsonText.Number(d), null, d, null);
                case TypeBoolean:
                    var b = lua_toboolean(l, -1) != 0;
                    return new Key(b ? "true" : "false", null, null, b);
                default:
                    throw Fail($"a table key of type {TypeName(type)} cannot be a JSON object key");
            }
        }

        private bool IsMarkedArray(int index)
        {
            if (lua_getmetatable(l, index) == 0)
            {
                return false;
            }

            PushString(l, "__is_array");
            lua_rawget(l, -2);
            var marked = lua_toboolean(l, -1) != 0;
            Pop(l, 2);
            return marked;
        }

        private static bool IsIdentifier(string s) =>
            s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] == '_') && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

        private TransformException Fail(string reason) => new($"cannot convert the script result to JSON at {root}{string.Concat(path)}: {reason}");
    }

    /// <summary>A table key as read during traversal, kept so it can be pushed again to fetch its value.</summary>
    private sealed record Key(string Text, long? Integer, double? Float, bool? Boolean)
    {
        public void Push(nint l)
        {
            if (Integer is { } n)
            {
                lua_pushinteger(l, n);
            }
            else if (Float is { } d)
            {
                lua_pushnumber(l, d);
            }
            else if (Boolean is { } b)
            {
                lua_pushboolean(l, b ? 1 : 0);
            }
            else
            {
                PushString(l, Text);
            }
        }
    }
}
