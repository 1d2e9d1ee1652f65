"""What the Airflow launcher must be allowed to do, asked of the real API server as that account."""

from __future__ import annotations

from typing import Any

from harness import ControlPlane

# The KubernetesPodOperator's calls: create the pod, follow it (get/list/watch), read its logs,
# delete it when it succeeded, patch it (it labels a finished pod), read events on failure.
LAUNCHER_NEEDS: list[tuple[str, str, str]] = [
    ("create", "pods", ""),
    ("get", "pods", ""),
    ("list", "pods", ""),
    ("watch", "pods", ""),
    ("delete", "pods", ""),
    ("patch", "pods", ""),
    ("get", "pods", "log"),
    ("list", "events", ""),
]


def service_account_token(plane: ControlPlane, namespace: str, account: str) -> str:
    """A short-lived token for the account (TokenRequest, as a projected token in a pod)."""
    from kubernetes.client import AuthenticationV1TokenRequest, CoreV1Api, V1TokenRequestSpec

    request = AuthenticationV1TokenRequest(spec=V1TokenRequestSpec(audiences=[], expiration_seconds=600))
    response = CoreV1Api(plane.client()).create_namespaced_service_account_token(account, namespace, request)
    return str(response.status.token)


def can_i(api_client: Any, namespace: str, verb: str, resource: str, subresource: str = "") -> bool:
    """`kubectl auth can-i` for the client's own identity (SelfSubjectAccessReview)."""
    from kubernetes.client import (
        AuthorizationV1Api,
        V1ResourceAttributes,
        V1SelfSubjectAccessReview,
        V1SelfSubjectAccessReviewSpec,
    )

    review = V1SelfSubjectAccessReview(
        spec=V1SelfSubjectAccessReviewSpec(
            resource_attributes=V1ResourceAttributes(
                namespace=namespace, verb=verb, resource=resource, subresource=subresource or None
            )
        )
    )
    return bool(AuthorizationV1Api(api_client).create_self_subject_access_review(review).status.allowed)


def missing_launcher_permissions(plane: ControlPlane, namespace: str, account: str) -> list[str]:
    """The LAUNCHER_NEEDS the account lacks in the namespace, as `verb resource[/sub]`."""
    client = plane.client_for_token(service_account_token(plane, namespace, account))
    return [
        f"{verb} {resource}{'/' + sub if sub else ''}"
        for verb, resource, sub in LAUNCHER_NEEDS
        if not can_i(client, namespace, verb, resource, sub)
    ]
