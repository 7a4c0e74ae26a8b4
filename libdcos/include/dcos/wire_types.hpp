// The list of protobuf messages that cross actor boundaries, registered with
// CAF by dcos::register_types(). A unit test checks that every top-level
// message of the dcos.v1 schema is on this list, so a new message cannot be
// forgotten. Nested messages travel inside their parents.
#pragma once

#include <caf/detail/type_list.hpp>

#include <dcos/v1/agent.pb.h>
#include <dcos/v1/agent_api.pb.h>
#include <dcos/v1/command.pb.h>
#include <dcos/v1/common.pb.h>
#include <dcos/v1/container.pb.h>
#include <dcos/v1/discovery.pb.h>
#include <dcos/v1/framework.pb.h>
#include <dcos/v1/health.pb.h>
#include <dcos/v1/ids.pb.h>
#include <dcos/v1/internal.pb.h>
#include <dcos/v1/master.pb.h>
#include <dcos/v1/network.pb.h>
#include <dcos/v1/offer.pb.h>
#include <dcos/v1/resources.pb.h>
#include <dcos/v1/scheduler.pb.h>
#include <dcos/v1/service.pb.h>
#include <dcos/v1/task.pb.h>

namespace dcos {

using wire_types = caf::detail::type_list<
  // ids.proto
  v1::FrameworkID, v1::OfferID, v1::AgentID, v1::TaskID, v1::ExecutorID,
  v1::OperationID, v1::ResourceProviderID, v1::ContainerID,
  // common.proto
  v1::TimeInfo, v1::DurationInfo, v1::Label, v1::Labels, v1::Parameter,
  v1::FileInfo, v1::Flag,
  v1::Parameters, v1::Address, v1::URL, v1::Secret, v1::Environment,
  v1::MachineID, v1::Unavailability, v1::UUID,
  // resources.proto
  v1::Value, v1::Attribute, v1::Volume, v1::Image, v1::Resource,
  v1::ResourceList,
  // agent.proto
  v1::DomainInfo, v1::AgentInfo, v1::MasterInfo, v1::DrainConfig,
  v1::DrainInfo,
  // framework.proto
  v1::FrameworkInfo, v1::Filters,
  // command.proto, network.proto, health.proto
  v1::CommandInfo, v1::NetworkInfo, v1::HealthCheck, v1::CheckInfo,
  v1::CheckStatusInfo, v1::KillPolicy,
  // container.proto
  v1::CapabilityInfo, v1::SeccompInfo, v1::LinuxInfo, v1::RLimitInfo,
  v1::ContainerInfo, v1::ContainerStatus, v1::ResourceStatistics, v1::DNSInfo, v1::ContainerDNSInfo,
  // discovery.proto
  v1::DiscoveryInfo, v1::Ports, v1::Port,
  // task.proto
  v1::ExecutorInfo, v1::TaskInfo, v1::TaskGroupInfo,
  v1::TaskResourceLimitation, v1::TaskStatus, v1::Task,
  // offer.proto
  v1::Offer, v1::InverseOffer, v1::Request, v1::OperationStatus,
  v1::Operation,
  // scheduler.proto: each call and event travels as its own message
  v1::scheduler::Call, v1::scheduler::Event,
  v1::scheduler::Call::Subscribe, v1::scheduler::Call::Accept,
  v1::scheduler::Call::Decline, v1::scheduler::Call::Revive,
  v1::scheduler::Call::Suppress, v1::scheduler::Call::Kill,
  v1::scheduler::Call::Shutdown, v1::scheduler::Call::Acknowledge,
  v1::scheduler::Call::Reconcile, v1::scheduler::Call::Message,
  v1::scheduler::Call::Teardown, v1::scheduler::Call::AcceptInverseOffers,
  v1::scheduler::Call::DeclineInverseOffers, v1::scheduler::Call::Request,
  v1::scheduler::Call::UpdateFramework,
  v1::scheduler::Call::AcknowledgeOperationStatus,
  v1::scheduler::Call::ReconcileOperations, v1::scheduler::Event::Subscribed,
  v1::scheduler::Event::Offers, v1::scheduler::Event::Rescind,
  v1::scheduler::Event::Update, v1::scheduler::Event::Message,
  v1::scheduler::Event::Failure, v1::scheduler::Event::Error,
  v1::scheduler::Event::Heartbeat, v1::scheduler::Event::InverseOffers,
  v1::scheduler::Event::RescindInverseOffer,
  v1::scheduler::Event::UpdateOperationStatus,
  // internal.proto
  v1::internal::RegisterAgent, v1::internal::ReregisterAgent,
  v1::internal::AgentRegistered, v1::internal::RunTask,
  v1::internal::RunTaskGroup, v1::internal::KillTask,
  v1::internal::DrainAgent,
  v1::internal::ShutdownExecutor, v1::internal::ShutdownFramework,
  v1::internal::StatusUpdate, v1::internal::StatusUpdateAcknowledgement,
  v1::internal::FrameworkToExecutor, v1::internal::ExecutorToFramework,
  v1::internal::CheckpointResources, v1::internal::UpdateOperationStatus,
  v1::internal::AcknowledgeOperationStatus, v1::internal::ExitedExecutor,
  v1::internal::Registry, v1::internal::RegisterExecutor,
  v1::internal::ReregisterExecutor, v1::internal::ExecutorRegistered,
  v1::internal::ExecutorCheckpoint, v1::internal::TaskCheckpoint,
  v1::internal::ExecutorGone, v1::internal::JournalRecord,
  // master.proto (operator API)
  v1::master::VersionInfo, v1::master::Metric, v1::master::WeightInfo,
  v1::master::Role, v1::master::Duration, v1::master::QuotaRequest,
  v1::master::MaintenanceWindow, v1::master::MaintenanceSchedule,
  v1::master::InverseOfferStatus, v1::master::MaintenanceStatus,
  v1::master::QuotaConfig, v1::master::Call,
  v1::master::Response, v1::master::Event,
  // agent_api.proto (the agent's operator API)
  v1::agent::Call, v1::agent::Response, v1::agent::ProcessIO,
  // service.proto (the stateful service SDK)
  v1::ServiceSpec, v1::PlanState, v1::PodInstance>;

} // namespace dcos
