/**
 * rdm/global-policy-ignored — `rdm.policy` is set on a domain.
 *
 * xl's global `rdm=` parser (libxlu_pci.c:xlu_rdm_parse) treats a successfully parsed `policy=`
 * as a parse error, and xl_parse.c ignores a failed `rdm=` silently: the whole string, strategy
 * included, is dropped and libxl keeps its defaults (strategy ignore, policy relaxed).
 */
import { defineRule } from '../../rule.js';
import { domainSubject } from '../iommu/_util.js';

export default defineRule({
  id: 'rdm/global-policy-ignored',
  severity: 'warning',
  phase: 'static',
  description: "`rdm.policy` is set: upstream xl drops a global rdm string that contains `policy=`, so neither the policy nor the strategy is applied.",
  check({ hc, report }) {
    for (const dom of hc.domains) {
      const policy = dom.rdm?.policy;
      if (policy === undefined) continue;
      const what = dom.rdm?.strategy === 'host' ? 'the policy and strategy=host with it are' : 'the policy is';
      report({
        at: { src: dom.src, path: ['rdm', 'policy'] },
        message: `${dom.name} sets rdm.policy: ${policy}, but upstream xl drops a global rdm="…" string that contains policy= (xlu_rdm_parse inverts its success check), so ${what} silently ignored and libxl keeps its defaults (strategy ignore, policy relaxed); remove rdm.policy and set rdm_policy: ${policy} on each pci entry instead`,
        subject: domainSubject(dom),
      });
    }
  },
});
