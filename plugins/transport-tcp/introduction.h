// The two ends of an introduction connection (wire_format.h, kind 3), each run on a thread of its
// own with a blocking socket, as snapshots are: the asker connects to a URL, asks its question and
// waits for the answer until its timeout; the receiver reads the question (bounded by
// max_frame_bytes, and by kIntroductionDeadline, so a silent or slow asker holds its thread only
// so long), runs the handler's on_introduction and answers. No ids are checked on either side:
// the asker knows none yet (keel/transport.h).
#ifndef KEEL_PLUGINS_TRANSPORT_TCP_INTRODUCTION_H_
#define KEEL_PLUGINS_TRANSPORT_TCP_INTRODUCTION_H_

#include <chrono>
#include <string>

#include "keel/peer_url.h"
#include "keel/status.h"
#include "snapshot_threads.h"
#include "transport_context.h"

namespace keel::tcp {

// Asks whoever listens at `url` `question`: the answer, the receiving handler's refusal (its code
// and message), Unavailable when nothing answers within `timeout`, or Cancelled once `threads`
// stop.
Result<std::string> ask_introduction(TransportContext& ctx, SnapshotThreads& threads,
                                     SnapshotThreads::Slot& slot, const PeerUrl& url,
                                     const std::string& question, std::chrono::milliseconds timeout);

// Serves one incoming introduction connection whose preface has been read and accepted: answers
// OK, reads the question, answers the handler's answer or refusal. `remote` names the asker in the
// log. Owns `fd` (closes it).
void answer_introduction(TransportContext& ctx, SnapshotThreads& threads, SnapshotThreads::Slot& slot,
                         int fd, const std::string& remote);

}  // namespace keel::tcp

#endif  // KEEL_PLUGINS_TRANSPORT_TCP_INTRODUCTION_H_
