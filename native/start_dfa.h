/*
 * StartDfa: every position of a byte string where one of a set of regular expressions has a match
 * starting, and which ones match there, in one pass over the string.
 *
 * - A match of p starting at s is a match of reverse(p) ending at s in the reversed string. So the
 *   patterns are parsed (the RE2 syntax subset below), reversed, and compiled into one Thompson NFA
 *   that may start anywhere; the text is read once, from its end to its start, by a DFA built lazily
 *   from that NFA. Each DFA transition knows which patterns reach their match state at its boundary.
 * - The answer equals RE2's (a match of the pattern, RE2 semantics, Latin-1, starting at s) for every
 *   pattern the parser accepts. It throws Unsupported for syntax it does not know (Unicode classes,
 *   multi-line mode, back-references...), and the caller then uses RE2's slower start-by-start search.
 * - Word boundaries are ASCII (as RE2's \b): a DFA state remembers whether the byte read before it was
 *   a word byte, and an assertion is decided when the next byte is read.
 * - Bounded memory: past kMaxStates the cache is emptied and rebuilt from the current state (as RE2 does).
 */
#pragma once

#include <algorithm>
#include <bitset>
#include <cctype>
#include <cstring>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace startdfa {

struct Unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using ByteSet = std::bitset<256>;

enum class Assertion { WordBoundary, NotWordBoundary, TextStart, TextEnd };

struct Node {
  enum Kind { Empty, Bytes, Concat, Alternate, Repeat, Assert } kind = Empty;
  ByteSet bytes;
  std::vector<Node> children;
  int min = 0, max = 0;  // Repeat; max < 0: unbounded
  Assertion assertion = Assertion::WordBoundary;
};

inline bool IsWordByte(int c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

// Parser for RE2 syntax: literals, escapes, classes, groups with i/s/U flags, alternation, repetition.
class Parser {
 public:
  explicit Parser(const std::string &source) : s_(source) {}

  Node Parse() {
    Flags flags;
    Node node = Alternation(flags);
    if (i_ != s_.size()) throw Unsupported("unbalanced parenthesis");
    return node;
  }

 private:
  struct Flags {
    bool caseless = false;
    bool dotNewline = false;
  };
  const std::string &s_;
  size_t i_ = 0;

  bool More() const { return i_ < s_.size(); }
  char Peek() const { return s_[i_]; }

  Node Alternation(Flags &flags) {
    std::vector<Node> branches;
    branches.push_back(Sequence(flags));
    while (More() && Peek() == '|') {
      i_++;
      branches.push_back(Sequence(flags));
    }
    if (branches.size() == 1) return std::move(branches[0]);
    Node node;
    node.kind = Node::Alternate;
    node.children = std::move(branches);
    return node;
  }

  Node Sequence(Flags &flags) {
    Node node;
    node.kind = Node::Concat;
    while (More() && Peek() != '|' && Peek() != ')') {
      if (Peek() == '(' && s_.compare(i_, 2, "(?") == 0 && FlagsOnly()) {
        // "(?i)" changes the flags of the rest of the enclosing group.
        ParseFlags(flags, ')');
        continue;
      }
      Node atom = Atom(flags);
      Quantify(atom);
      node.children.push_back(std::move(atom));
    }
    return node;
  }

  bool FlagsOnly() const {
    size_t j = i_ + 2;
    while (j < s_.size() && (std::isalpha(static_cast<unsigned char>(s_[j])) || s_[j] == '-')) j++;
    return j < s_.size() && s_[j] == ')';
  }

  // Reads flags after "(?" up to `end` (consumed).
  void ParseFlags(Flags &flags, char end) {
    i_ += 2;
    bool negate = false;
    while (More() && Peek() != end) {
      char c = s_[i_++];
      if (c == '-') negate = true;
      else if (c == 'i') flags.caseless = !negate;
      else if (c == 's') flags.dotNewline = !negate;
      else if (c == 'U') {
        // Ungreedy changes which match is chosen, never where matches start.
      } else
        throw Unsupported(std::string("flag ") + c);
    }
    if (!More()) throw Unsupported("unterminated group");
    i_++;
  }

  void Quantify(Node &atom) {
    while (More()) {
      int min, max;
      char c = Peek();
      if (c == '*') min = 0, max = -1, i_++;
      else if (c == '+') min = 1, max = -1, i_++;
      else if (c == '?') min = 0, max = 1, i_++;
      else if (c == '{' && Counted(min, max)) {
      } else
        return;
      // RE2 takes some repeated empty-width assertions and not others: RE2 scans those patterns.
      if (atom.kind == Node::Assert || atom.kind == Node::Empty) throw Unsupported("repeated assertion");
      if (More() && Peek() == '?') i_++;  // lazy: same starts
      Node repeat;
      repeat.kind = Node::Repeat;
      repeat.min = min;
      repeat.max = max;
      repeat.children.push_back(std::move(atom));
      atom = std::move(repeat);
    }
  }

  // "{n}", "{n,}", "{n,m}"; otherwise '{' is a literal (RE2 and JavaScript agree) and false is returned.
  bool Counted(int &min, int &max) {
    size_t j = i_ + 1;
    auto number = [&](int &out) {
      size_t from = j;
      long value = 0;
      while (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) {
        value = value * 10 + (s_[j] - '0');
        if (value > 1000) throw Unsupported("repeat count above 1000");
        j++;
      }
      out = static_cast<int>(value);
      return j > from;
    };
    if (!number(min)) return false;
    if (j < s_.size() && s_[j] == '}') {
      max = min;
    } else if (j < s_.size() && s_[j] == ',') {
      j++;
      if (j < s_.size() && s_[j] == '}') max = -1;
      else if (!number(max) || j >= s_.size() || s_[j] != '}')
        return false;
    } else
      return false;
    if (max >= 0 && max < min) throw Unsupported("bad repeat");
    i_ = j + 1;
    return true;
  }

  static ByteSet Fold(ByteSet set, bool caseless) {
    if (!caseless) return set;
    for (int c = 'a'; c <= 'z'; c++)
      if (set[c] || set[c - 32]) set.set(c), set.set(c - 32);
    return set;
  }

  static ByteSet Range(int from, int to) {
    ByteSet set;
    for (int c = from; c <= to; c++) set.set(c);
    return set;
  }

  static ByteSet Digits() { return Range('0', '9'); }
  static ByteSet Words() {
    ByteSet set;
    for (int c = 0; c < 256; c++)
      if (IsWordByte(c)) set.set(c);
    return set;
  }
  static ByteSet Spaces() {
    ByteSet set;
    for (char c : {'\t', '\n', '\f', '\r', ' '}) set.set(static_cast<unsigned char>(c));
    return set;
  }

  static Node BytesNode(const ByteSet &set) {
    Node node;
    node.kind = Node::Bytes;
    node.bytes = set;
    return node;
  }

  // One escaped character (after the backslash) standing for a set of bytes; false for assertions.
  bool EscapeSet(ByteSet &out) {
    if (!More()) throw Unsupported("trailing backslash");
    char c = s_[i_++];
    switch (c) {
      case 'd': out = Digits(); return true;
      case 'D': out = ~Digits(); return true;
      case 'w': out = Words(); return true;
      case 'W': out = ~Words(); return true;
      case 's': out = Spaces(); return true;
      case 'S': out = ~Spaces(); return true;
      case 'n': out = ByteSet().set('\n'); return true;
      case 't': out = ByteSet().set('\t'); return true;
      case 'r': out = ByteSet().set('\r'); return true;
      case 'f': out = ByteSet().set('\f'); return true;
      case 'v': out = ByteSet().set('\v'); return true;
      case 'a': out = ByteSet().set('\a'); return true;
      case 'x': {
        auto hex = [](char h) {
          if (h >= '0' && h <= '9') return h - '0';
          if (h >= 'a' && h <= 'f') return h - 'a' + 10;
          if (h >= 'A' && h <= 'F') return h - 'A' + 10;
          return -1;
        };
        if (i_ + 2 > s_.size() || hex(s_[i_]) < 0 || hex(s_[i_ + 1]) < 0) throw Unsupported("\\x form");
        int value = hex(s_[i_]) * 16 + hex(s_[i_ + 1]);
        i_ += 2;
        if (value >= 0x80) throw Unsupported("non-ASCII escape");
        out = ByteSet().set(value);
        return true;
      }
      default:
        if (std::isalnum(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80) {
          i_--;
          return false;
        }
        out = ByteSet().set(static_cast<unsigned char>(c));
        return true;
    }
  }

  Node Atom(Flags &outer) {
    char c = s_[i_];
    if (static_cast<unsigned char>(c) >= 0x80) throw Unsupported("non-ASCII pattern");
    if (c == '(') {
      Flags flags = outer;
      if (s_.compare(i_, 2, "(?") == 0) {
        if (s_.compare(i_, 4, "(?P<") == 0 || (s_.compare(i_, 3, "(?<") == 0)) {
          size_t close = s_.find('>', i_);
          if (close == std::string::npos) throw Unsupported("group name");
          i_ = close + 1;
        } else {
          ParseFlags(flags, ':');
        }
      } else {
        i_++;
      }
      Node inner = Alternation(flags);
      if (!More() || Peek() != ')') throw Unsupported("unbalanced parenthesis");
      i_++;
      return inner;
    }
    if (c == '[') return BytesNode(Class(outer.caseless));
    i_++;
    if (c == '.') return BytesNode(outer.dotNewline ? ~ByteSet() : ~ByteSet().set('\n'));
    if (c == '^' || c == '$') {
      Node node;
      node.kind = Node::Assert;
      node.assertion = c == '^' ? Assertion::TextStart : Assertion::TextEnd;
      return node;
    }
    if (c == '*' || c == '+' || c == '?') throw Unsupported("missing argument to repetition");
    if (c == '\\') {
      ByteSet set;
      if (EscapeSet(set)) return BytesNode(Fold(set, outer.caseless));
      char e = s_[i_++];
      Node node;
      node.kind = Node::Assert;
      if (e == 'b') node.assertion = Assertion::WordBoundary;
      else if (e == 'B') node.assertion = Assertion::NotWordBoundary;
      else if (e == 'A') node.assertion = Assertion::TextStart;
      else if (e == 'z') node.assertion = Assertion::TextEnd;
      else
        throw Unsupported(std::string("escape \\") + e);
      return node;
    }
    return BytesNode(Fold(ByteSet().set(static_cast<unsigned char>(c)), outer.caseless));
  }

  ByteSet Class(bool caseless) {
    i_++;  // '['
    bool negate = false;
    if (More() && Peek() == '^') negate = true, i_++;
    ByteSet set;
    bool first = true;
    while (true) {
      if (!More()) throw Unsupported("unterminated class");
      char c = Peek();
      if (c == ']' && !first) {
        i_++;
        break;
      }
      first = false;
      if (c == '[' && i_ + 1 < s_.size() && s_[i_ + 1] == ':') throw Unsupported("POSIX class");
      int low;
      if (c == '\\') {
        i_++;
        ByteSet escaped;
        if (!EscapeSet(escaped)) throw Unsupported("escape in class");
        if (escaped.count() != 1) {
          set |= escaped;
          continue;
        }
        low = static_cast<int>(FirstByte(escaped));
      } else {
        if (static_cast<unsigned char>(c) >= 0x80) throw Unsupported("non-ASCII class");
        low = static_cast<unsigned char>(c);
        i_++;
      }
      if (More() && Peek() == '-' && i_ + 1 < s_.size() && s_[i_ + 1] != ']') {
        i_++;
        int high;
        if (Peek() == '\\') {
          i_++;
          ByteSet escaped;
          if (!EscapeSet(escaped) || escaped.count() != 1) throw Unsupported("class range");
          high = static_cast<int>(FirstByte(escaped));
        } else {
          if (static_cast<unsigned char>(Peek()) >= 0x80) throw Unsupported("non-ASCII class");
          high = static_cast<unsigned char>(s_[i_++]);
        }
        if (high < low) throw Unsupported("class range out of order");
        set |= Range(low, high);
      } else {
        set.set(low);
      }
    }
    // Folded before negation, as RE2 does; negated classes match every other byte, newline included.
    set = Fold(set, caseless);
    return negate ? ~set : set;
  }

  static size_t FirstByte(const ByteSet &set) {
    for (size_t c = 0; c < 256; c++)
      if (set[c]) return c;
    return 0;
  }
};

class StartDfa {
 public:
  // Throws Unsupported when a pattern uses syntax outside the parser's subset.
  explicit StartDfa(const std::vector<std::string> &patterns) {
    std::vector<Node> trees;
    for (const std::string &pattern : patterns) trees.push_back(Parser(pattern).Parse());
    ClassifyBytes(trees);
    for (size_t p = 0; p < trees.size(); p++) {
      int match = Add(State::Match);
      states_[match].pattern = static_cast<int>(p);
      starts_.push_back(CompileReversed(trees[p], match));
    }
    mark_.assign(states_.size(), 0);
    Reset();
  }

  // Calls found(start, patterns, count) for every start position with at least one matching pattern, in
  // ascending start order, patterns ascending. (Found while reading backwards, kept per part, then emitted.)
  //
  // A DFA step waits for the previous one (its row is the load's address), so one stream of bytes leaves
  // the core mostly idle. Long texts are cut into kStreams parts read as interleaved streams: the last part
  // from the text's end, every other part from kOverlap bytes into the next one, starting from the state
  // "nothing read yet". That state holds a subset of the true state's threads, so a part's result is exact
  // if its state at the seam equals the true one there (the usual case: threads rarely outlive a few dozen
  // bytes); if not, the part is read again from the true state. Seams are checked from the end down.
  template <typename Found>
  void Scan(const uint8_t *text, size_t length, Found found) {
    for (std::vector<Hit> &hits : hits_) hits.clear();
    hitPatterns_.clear();
    if (length < kStreamsFrom || !ScanStreams(text, length)) {
      for (std::vector<Hit> &hits : hits_) hits.clear();
      hitPatterns_.clear();
      int32_t row = initial_ * classes_;
      Run(text, 0, length, row, length, hits_[0], true);
      Record(hits_[0], 0, Final(row / classes_));
    }
    for (const std::vector<Hit> &hits : hits_)
      for (auto hit = hits.rbegin(); hit != hits.rend(); ++hit)
        found(hit->start, hitPatterns_.data() + hit->offset, hit->count);
  }

 private:
  struct State {
    enum Kind { Split, Bytes, Assert, Match } kind;
    int out = -1, out1 = -1;
    int byteClassSet = -1;  // Bytes: index into classSets_
    Assertion assertion = Assertion::WordBoundary;
    int pattern = -1;
  };
  static constexpr size_t kMaxStates = 20000;
  static constexpr size_t kStreams = 2;
  // Past the longest bounded repeat in the built-ins ({1,256}) plus its neighbours, so that the restarted
  // stream has forgotten nothing the true one still tracks, even inside long tokens.
  static constexpr size_t kOverlap = 512;
  static constexpr size_t kStreamsFrom = 4 * kOverlap;

  struct Hit {
    size_t start;
    uint32_t offset, count;  // into hitPatterns_: copies, so that a cache reset cannot invalidate them
  };
  std::vector<Hit> hits_[kStreams];  // per part, descending starts
  std::vector<int> hitPatterns_;
  int32_t restart_[2] = {0, 0};  // states "nothing read yet" after a non-word / word byte

  void Record(std::vector<Hit> &hits, size_t start, int32_t list) {
    if (list == 0) return;
    const std::vector<int> &patterns = matchLists_[list];
    hits.push_back({start, static_cast<uint32_t>(hitPatterns_.size()), static_cast<uint32_t>(patterns.size())});
    hitPatterns_.insert(hitPatterns_.end(), patterns.begin(), patterns.end());
  }

  // Steps the state at `row` on byte class `cls` when its transition is unknown. A cache reset re-interns
  // the state (rows held elsewhere are then stale): allowed only when `recover`, else false.
  bool Fill(int32_t &row, int cls, bool recover) {
    if (Step(row / classes_, cls)) return true;
    if (!recover) return false;
    row = Intern(currentKey_) * classes_;
    Step(row / classes_, cls);  // a fresh cache has room
    return true;
  }

  // Reads text[lo, hi) backwards from `row`, recording hits for starts ≤ reportTo; false after a reset
  // unless `recover`.
  bool Run(const uint8_t *text, size_t lo, size_t hi, int32_t &row, size_t reportTo, std::vector<Hit> &hits,
           bool recover) {
    const int32_t *table = next_.data();
    for (size_t j = hi; j-- > lo;) {
      const int cls = byteClass_[text[j]];
      int32_t entry = table[row + cls];
      if (entry < 0) {
        if (!Fill(row, cls, recover)) return false;
        table = next_.data();
        entry = table[row + cls];
      }
      if ((entry & 1) && j < reportTo) Record(hits, j + 1, matchOf_[row + cls]);
      row = entry >> 1;
    }
    return true;
  }

  // False when the cache had to be emptied (the caller then reads the text as one stream).
  bool ScanStreams(const uint8_t *text, size_t length) {
    // Part k is text[from[k], from[k + 1]); its stream starts at top[k] and reads down to from[k].
    size_t from[kStreams + 1], top[kStreams], j[kStreams];
    int32_t row[kStreams], atSeam[kStreams];
    for (size_t k = 0; k <= kStreams; k++) from[k] = length * k / kStreams;
    for (size_t k = 0; k < kStreams; k++) {
      top[k] = k + 1 == kStreams ? length : from[k + 1] + kOverlap;
      j[k] = top[k];
      row[k] = (k + 1 == kStreams ? initial_ : restart_[IsWordByte(text[top[k]]) ? 1 : 0]) * classes_;
      atSeam[k] = -1;
    }
    // In step while the last (shortest) part lasts. For kOverlap steps the first stream reads the overlap
    // (no hits recorded) and then stands at its seam; after that both record. Written out so that the rows
    // stay in registers.
    static_assert(kStreams == 2, "the lockstep below is written for two streams");
    const size_t steps = length - from[kStreams - 1];
    if (steps <= kOverlap) return false;
    const int32_t *table = next_.data();
    int32_t r0 = row[0], r1 = row[1];
    for (size_t step = 0; step < steps; step++) {
      if (step == kOverlap) atSeam[0] = r0;
      const size_t j0 = --j[0], j1 = --j[1];
      const int c0 = byteClass_[text[j0]], c1 = byteClass_[text[j1]];
      int32_t e0 = table[r0 + c0], e1 = table[r1 + c1];
      if ((e0 | e1) < 0) {
        if ((e0 < 0 && !Fill(r0, c0, false)) || (e1 < 0 && !Fill(r1, c1, false))) return false;
        table = next_.data();
        e0 = table[r0 + c0], e1 = table[r1 + c1];
      }
      if ((e0 | e1) & 1) {
        if ((e0 & 1) && step >= kOverlap) Record(hits_[0], j0 + 1, matchOf_[r0 + c0]);
        if (e1 & 1) Record(hits_[1], j1 + 1, matchOf_[r1 + c1]);
      }
      r0 = e0 >> 1, r1 = e1 >> 1;
    }
    row[0] = r0, row[1] = r1;
    // The last part is exact; each seam below is then checked against the true state there.
    int32_t truth = row[kStreams - 1];
    for (size_t k = kStreams - 1; k-- > 0;) {
      if (atSeam[k] != truth) {
        hits_[k].clear();
        row[k] = truth;
        j[k] = from[k + 1];
      }
      if (!Run(text, from[k], j[k], row[k], from[k + 1], hits_[k], false)) return false;
      truth = row[k];
    }
    Record(hits_[0], 0, Final(truth / classes_));
    return true;
  }

  static constexpr size_t kMaxNfaStates = 250000;

  std::vector<State> states_;
  std::vector<int> starts_;
  std::vector<ByteSet> classSets_;
  std::vector<std::vector<bool>> classMembers_;  // per classSets_ entry: byte class → member
  uint8_t byteClass_[256] = {};
  int classes_ = 0;
  std::vector<bool> classIsWord_;

  // DFA: state key = flags byte + sorted NFA state ids (Bytes, Assert, Match states only).
  std::unordered_map<std::string, int32_t> ids_;
  std::vector<std::string> keys_;
  std::vector<int32_t> next_;     // state * classes_ + class → (next state * classes_) << 1 | has match; -1 unknown
  std::vector<int32_t> matchOf_;  // same index → index into matchLists_ (0: none)
  std::vector<int32_t> finalOf_;  // per state: Final's answer, -1 not yet known
  std::vector<std::vector<int>> matchLists_;
  std::unordered_map<std::string, int32_t> matchListIds_;
  int32_t initial_ = 0;
  std::string currentKey_;
  std::vector<uint32_t> mark_;
  uint32_t generation_ = 0;

  enum : uint8_t { kPrevWord = 1, kAtBegin = 2 };

  int Add(State::Kind kind) {
    if (states_.size() >= kMaxNfaStates) throw Unsupported("pattern set too large");
    State state;
    state.kind = kind;
    states_.push_back(state);
    return static_cast<int>(states_.size() - 1);
  }

  // Byte classes: bytes no pattern set (nor the word test) tells apart share a class.
  void ClassifyBytes(const std::vector<Node> &trees) {
    std::vector<const ByteSet *> sets;
    std::vector<const Node *> stack;
    for (const Node &tree : trees) stack.push_back(&tree);
    while (!stack.empty()) {
      const Node *node = stack.back();
      stack.pop_back();
      if (node->kind == Node::Bytes) sets.push_back(&node->bytes);
      for (const Node &child : node->children) stack.push_back(&child);
    }
    std::unordered_map<std::string, int> signatures;
    for (int c = 0; c < 256; c++) {
      std::string signature(1, IsWordByte(c) ? 'w' : '.');
      for (const ByteSet *set : sets) signature += (*set)[c] ? '1' : '0';
      auto inserted = signatures.emplace(signature, static_cast<int>(signatures.size()));
      byteClass_[c] = static_cast<uint8_t>(inserted.first->second);
    }
    classes_ = static_cast<int>(signatures.size());
    classIsWord_.assign(classes_, false);
    for (int c = 0; c < 256; c++) classIsWord_[byteClass_[c]] = IsWordByte(c);
  }

  int ClassSet(const ByteSet &set) {
    for (size_t i = 0; i < classSets_.size(); i++)
      if (classSets_[i] == set) return static_cast<int>(i);
    classSets_.push_back(set);
    std::vector<bool> members(classes_, false);
    for (int c = 0; c < 256; c++)
      if (set[c]) members[byteClass_[c]] = true;
    classMembers_.push_back(std::move(members));
    return static_cast<int>(classSets_.size() - 1);
  }

  int Split(int out, int out1) {
    int id = Add(State::Split);
    states_[id].out = out;
    states_[id].out1 = out1;
    return id;
  }

  // States matching reverse(node) and then continuing at `next`.
  int CompileReversed(const Node &node, int next) {
    switch (node.kind) {
      case Node::Empty:
        return next;
      case Node::Bytes: {
        int id = Add(State::Bytes);
        states_[id].byteClassSet = ClassSet(node.bytes);
        states_[id].out = next;
        return id;
      }
      case Node::Assert: {
        int id = Add(State::Assert);
        // Read backwards, the text's start is where the reversed reading ends, and its end where it begins.
        Assertion a = node.assertion;
        if (a == Assertion::TextStart) a = Assertion::TextEnd;
        else if (a == Assertion::TextEnd) a = Assertion::TextStart;
        states_[id].assertion = a;
        states_[id].out = next;
        return id;
      }
      case Node::Concat: {
        // reverse(a b c) = c' b' a': a' continues at next, b' at a', c' at b'.
        int at = next;
        for (const Node &child : node.children) at = CompileReversed(child, at);
        return at;
      }
      case Node::Alternate: {
        int at = CompileReversed(node.children[0], next);
        for (size_t i = 1; i < node.children.size(); i++)
          at = Split(at, CompileReversed(node.children[i], next));
        return at;
      }
      case Node::Repeat: {
        const Node &body = node.children[0];
        int at = next;
        if (node.max < 0) {
          int loop = Split(-1, next);
          states_[loop].out = CompileReversed(body, loop);
          at = loop;
        } else {
          for (int i = node.min; i < node.max; i++) at = Split(CompileReversed(body, at), next);
        }
        for (int i = 0; i < node.min; i++) at = CompileReversed(body, at);
        return at;
      }
    }
    return next;
  }

  // Adds `id` and what it reaches through splits (and, with a context, through true assertions).
  void Close(int id, std::vector<int> &out, int context) {
    std::vector<int> stack{id};
    while (!stack.empty()) {
      int at = stack.back();
      stack.pop_back();
      if (at < 0 || mark_[at] == generation_) continue;
      mark_[at] = generation_;
      const State &state = states_[at];
      if (state.kind == State::Split) {
        stack.push_back(state.out1);
        stack.push_back(state.out);
        continue;
      }
      out.push_back(at);
      if (state.kind == State::Assert && context >= 0 && Holds(state.assertion, context))
        stack.push_back(state.out);
    }
  }

  // context bits: 1 previous byte is a word byte, 2 at the reading's start, 4 next byte is a word byte,
  // 8 at the reading's end.
  static bool Holds(Assertion assertion, int context) {
    const bool boundary = ((context & 1) != 0) != ((context & 4) != 0);
    switch (assertion) {
      case Assertion::WordBoundary: return boundary;
      case Assertion::NotWordBoundary: return !boundary;
      case Assertion::TextStart: return (context & 2) != 0;
      case Assertion::TextEnd: return (context & 8) != 0;
    }
    return false;
  }

  void NewGeneration() {
    if (++generation_ == 0) {
      std::fill(mark_.begin(), mark_.end(), 0);
      generation_ = 1;
    }
  }

  static std::string KeyOf(uint8_t flags, std::vector<int> &ids) {
    std::sort(ids.begin(), ids.end());
    std::string key(1, static_cast<char>(flags));
    key.append(reinterpret_cast<const char *>(ids.data()), ids.size() * sizeof(int));
    return key;
  }

  int32_t Intern(const std::string &key) {
    auto found = ids_.find(key);
    if (found != ids_.end()) return found->second;
    int32_t id = static_cast<int32_t>(keys_.size());
    ids_.emplace(key, id);
    keys_.push_back(key);
    next_.resize(keys_.size() * classes_, -1);
    matchOf_.resize(keys_.size() * classes_, 0);
    finalOf_.push_back(-1);
    return id;
  }

  void Reset() {
    ids_.clear();
    keys_.clear();
    next_.clear();
    matchOf_.clear();
    finalOf_.clear();
    matchLists_.assign(1, {});
    matchListIds_.clear();
    NewGeneration();
    std::vector<int> set;
    for (int start : starts_) Close(start, set, -1);
    // Interned once per cache: a key is the whole start set, too long to hash for every text.
    std::vector<int> copy = set;
    initial_ = Intern(KeyOf(kAtBegin, set));
    restart_[0] = Intern(KeyOf(0, copy));
    std::vector<int> copy2 = copy;
    restart_[1] = Intern(KeyOf(kPrevWord, copy2));
  }

  std::vector<int> Members(const std::string &key) const {
    std::vector<int> ids((key.size() - 1) / sizeof(int));
    std::memcpy(ids.data(), key.data() + 1, ids.size() * sizeof(int));
    return ids;
  }

  // The NFA states live at the boundary before reading a byte with the given context, and the patterns
  // matching there.
  std::vector<int> Expand(const std::string &key, int context, std::vector<int> &matched) {
    NewGeneration();
    std::vector<int> live;
    for (int id : Members(key)) Close(id, live, context);
    for (int id : live)
      if (states_[id].kind == State::Match) matched.push_back(states_[id].pattern);
    std::sort(matched.begin(), matched.end());
    matched.erase(std::unique(matched.begin(), matched.end()), matched.end());
    return live;
  }

  int32_t MatchList(const std::vector<int> &matched) {
    if (matched.empty()) return 0;
    std::string key(reinterpret_cast<const char *>(matched.data()), matched.size() * sizeof(int));
    auto found = matchListIds_.find(key);
    if (found != matchListIds_.end()) return found->second;
    int32_t id = static_cast<int32_t>(matchLists_.size());
    matchLists_.push_back(matched);
    matchListIds_.emplace(key, id);
    return id;
  }

  // Fills the transition of `state` on byte class `cls`; false when it emptied the cache instead (the
  // caller re-interns `currentKey_` and steps again).
  bool Step(int32_t state, int cls) {
    const std::string key = keys_[state];
    const uint8_t flags = static_cast<uint8_t>(key[0]);
    const bool nextWord = classIsWord_[cls];
    const int context = (flags & kPrevWord ? 1 : 0) | (flags & kAtBegin ? 2 : 0) | (nextWord ? 4 : 0);
    std::vector<int> matched;
    std::vector<int> live = Expand(key, context, matched);
    NewGeneration();
    std::vector<int> reached;
    for (int id : live) {
      const State &s = states_[id];
      if (s.kind == State::Bytes && classMembers_[s.byteClassSet][cls]) Close(s.out, reached, -1);
    }
    for (int start : starts_) Close(start, reached, -1);
    std::string nextKey = KeyOf(nextWord ? kPrevWord : 0, reached);
    if (keys_.size() >= kMaxStates && ids_.find(nextKey) == ids_.end()) {
      currentKey_ = key;
      Reset();
      return false;
    }
    const int32_t matchList = MatchList(matched);
    const int32_t to = Intern(nextKey);
    const size_t t = static_cast<size_t>(state) * classes_ + cls;
    next_[t] = (to * classes_) << 1 | (matchList != 0 ? 1 : 0);
    matchOf_[t] = matchList;
    return true;
  }

  // The patterns matching at the text's start, given the state after reading it all; cached per state
  // (a closure over the NFA costs microseconds, and every scan of a short text ends here).
  int32_t Final(int32_t state) {
    if (finalOf_[state] >= 0) return finalOf_[state];
    const std::string &key = keys_[state];
    const uint8_t flags = static_cast<uint8_t>(key[0]);
    const int context = (flags & kPrevWord ? 1 : 0) | (flags & kAtBegin ? 2 : 0) | 8;
    std::vector<int> matched;
    Expand(key, context, matched);
    return finalOf_[state] = MatchList(matched);
  }
};

}  // namespace startdfa
