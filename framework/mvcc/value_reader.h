// ValueReader: fetches the KeyValues stored at revisions, from the overlay first and then from one
// Backend read transaction begun after the overlay look-up (overlay.h says why that order keeps a
// read correct while commits trim the overlay). It copies only what it returns.
// Thread safety: one thread uses a ValueReader; many may exist at once.
#ifndef KEEL_MVCC_VALUE_READER_H_
#define KEEL_MVCC_VALUE_READER_H_

#include <memory>
#include <vector>

#include "keel/backend.h"
#include "mvcc/overlay.h"

namespace keel::mvcc {

class ValueReader {
 public:
  ValueReader(const Overlay& overlay, Backend& backend) : overlay_(overlay), backend_(backend) {}

  // (*out)[i] = the KeyValue at revs[i] (a put revision). NotFound if a revision is in neither
  // place (a compaction purged it); Corruption if a stored value does not decode.
  Status fetch(const std::vector<Revision>& revs, bool keys_only, std::vector<KeyValue>* out);

 private:
  const Overlay& overlay_;
  Backend& backend_;
  std::unique_ptr<BackendReadTx> tx_;
};

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_VALUE_READER_H_
