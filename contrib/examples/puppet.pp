# SPDX-License-Identifier: MIT
# Puppet: --detailed-exitcodes reports a change as exit 2; diff exits 0 when nothing would change.
exec { 'tproxy-firewalld':
  command => 'tproxy-firewalld install --detailed-exitcodes --config /etc/kuma/transparent-proxy.yaml',
  unless  => 'tproxy-firewalld diff --config /etc/kuma/transparent-proxy.yaml',
  path    => ['/usr/sbin', '/usr/bin'],
  returns => [0, 2],
}
